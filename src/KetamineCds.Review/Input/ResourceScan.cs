using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace KetamineCds.Review.Input;

/// <summary>What a cheap scan of one resource's JSON found: enough to route it to its patient without Firely.</summary>
public readonly record struct ScannedResource(string ResourceType, string? Id, string? SubjectReference, string? MedicationReference);

/// <summary>
/// Scans one resource's UTF-8 JSON with <see cref="Utf8JsonReader"/>: checks that it is well-formed UTF-8 and exactly
/// one JSON object, and reads the top-level resourceType, id, subject (or patient) reference and medicationReference.
/// Every other value is read past, not materialized, so a line costs a fraction of a Firely parse.
/// </summary>
public static class ResourceScan
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>The scan, or null with the reason the record cannot be read (said to the pharmacist with file and line).</summary>
    public static ScannedResource? Scan(ReadOnlySpan<byte> json, out string? error)
    {
        error = null;
        if (!Utf8.IsValid(json))
        {
            error = "not valid UTF-8";
            return null;
        }

        string? type = null, id = null, subject = null, medication = null;
        var reader = new Utf8JsonReader(json, Options);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "not a JSON object";
                return null;
            }

            while (reader.Read())
            {
                if (reader.CurrentDepth != 1 || reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                if (reader.ValueTextEquals("resourceType"u8))
                {
                    type = ReadString(ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    id = ReadString(ref reader);
                }
                else if (reader.ValueTextEquals("subject"u8) || reader.ValueTextEquals("patient"u8))
                {
                    subject ??= ReadReference(ref reader);
                }
                else if (reader.ValueTextEquals("medicationReference"u8))
                {
                    medication = ReadReference(ref reader);
                }
            }
        }
        catch (JsonException ex)
        {
            // The reader's message names the byte position, never the content.
            error = $"not valid JSON ({FirstSentence(ex.Message)})";
            return null;
        }

        if (string.IsNullOrEmpty(type))
        {
            error = "no resourceType";
            return null;
        }

        return new ScannedResource(type, id, subject, medication);
    }

    /// <summary>The patient id a reference names ("Patient/123", an absolute URL, a versioned reference), or null.</summary>
    public static string? PatientId(string? reference)
    {
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        var at = reference.LastIndexOf("Patient/", StringComparison.Ordinal);
        if (at < 0 || (at > 0 && reference[at - 1] != '/'))
        {
            return null;
        }

        var id = reference[(at + "Patient/".Length)..];
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            id = id[..slash];
        }

        return id.Length == 0 ? null : id;
    }

    /// <summary>"Medication/abc" for a reference to a Medication by id (relative or absolute); null for contained or other.</summary>
    public static string? MedicationKey(string? reference)
    {
        if (string.IsNullOrEmpty(reference) || reference.StartsWith('#'))
        {
            return null;
        }

        var at = reference.LastIndexOf("Medication/", StringComparison.Ordinal);
        if (at < 0 || (at > 0 && reference[at - 1] != '/'))
        {
            return null;
        }

        var id = reference[(at + "Medication/".Length)..];
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        return "Medication/" + (slash >= 0 ? id[..slash] : id);
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    private static string? ReadReference(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var depth = reader.CurrentDepth;
        string? reference = null;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.CurrentDepth == depth + 1 && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("reference"u8))
            {
                reference = ReadString(ref reader);
            }
        }

        return reference;
    }

    private static string FirstSentence(string message)
    {
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot > 0 ? message[..dot] : message.TrimEnd('.');
    }

    /// <summary>Decodes for the screens and Firely; the bytes were checked as UTF-8 already.</summary>
    public static string Text(ReadOnlySpan<byte> json) => Encoding.UTF8.GetString(json);
}
