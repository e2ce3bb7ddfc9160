using System.Buffers;
using System.Text.Json;

namespace KetamineCds.Fhir.Data;

/// <summary>A top-level property of a split resource that the screens read: where its value lies in the resource.</summary>
public enum ScreenedProperty
{
    MedicationCodeableConcept,
    MedicationReference,
    Contained,
    Code,
    Ingredient,
}

/// <summary>
/// One entry of a prefetch Bundle as it lies in the request's bytes (<see cref="PrefetchSplitter"/>): the resource's
/// UTF-8 JSON, its resourceType, and where the properties the screens search lie, so that no document is built for it.
/// </summary>
public readonly struct SplitEntry
{
    internal const int Absent = -1;

    private readonly PropertyRanges _properties;

    internal SplitEntry(ReadOnlyMemory<byte> resource, string? resourceType, bool typeUnreadable, PropertyRanges properties)
    {
        Resource = resource;
        ResourceType = resourceType;
        TypeUnreadable = typeUnreadable;
        _properties = properties;
        HasResource = true;
    }

    /// <summary>False for an entry that is not an object, or whose <c>resource</c> is missing or not an object (skipped and counted).</summary>
    public bool HasResource { get; }

    /// <summary>The resource's JSON, exactly as sent.</summary>
    public ReadOnlyMemory<byte> Resource { get; }

    /// <summary>The resourceType (its last occurrence, as <c>JsonElement.TryGetProperty</c> reads it); null when absent or not a string.</summary>
    public string? ResourceType { get; }

    /// <summary>A resourceType string that is not valid Unicode: the entry cannot be read.</summary>
    public bool TypeUnreadable { get; }

    /// <summary>The value of a top-level property (its last occurrence), or false when the resource has none.</summary>
    public bool TryGetProperty(ScreenedProperty property, out ReadOnlySpan<byte> value)
    {
        var (start, length) = _properties[(int)property];
        if (start == Absent)
        {
            value = default;
            return false;
        }

        value = Resource.Span.Slice(start, length);
        return true;
    }

    /// <summary>The start (relative to the resource) and length of each <see cref="ScreenedProperty"/>'s value.</summary>
    [System.Runtime.CompilerServices.InlineArray(5)]
    internal struct PropertyRanges
    {
        private (int Start, int Length) _first;
    }
}

/// <summary>The entries of one prefetch Bundle, split out of the request (their order kept).</summary>
public sealed class SplitBundle(IReadOnlyList<SplitEntry> entries)
{
    public IReadOnlyList<SplitEntry> Entries { get; } = entries;
}

/// <summary>A hook request read once: the envelope (everything but the prefetch Bundles' entries) and those entries.</summary>
public sealed class SplitRequest(byte[] envelope, int envelopeLength, IReadOnlyDictionary<string, SplitBundle> bundles) : IDisposable
{
    private byte[] _envelope = envelope;

    /// <summary>The request with the <c>entry</c> arrays of the split Bundles emptied: small, parsed as a document.</summary>
    public ReadOnlyMemory<byte> Envelope => _envelope.AsMemory(0, envelopeLength);

    /// <summary>By prefetch key: the entries of that key's Bundle (its <c>entry</c> is empty in the envelope).</summary>
    public IReadOnlyDictionary<string, SplitBundle> Bundles { get; } = bundles;

    /// <summary>Clears (a patient's data) and returns the pooled envelope.</summary>
    public void Dispose()
    {
        var returned = Interlocked.Exchange(ref _envelope, []);
        if (returned.Length > 0)
        {
            returned.AsSpan(0, envelopeLength).Clear();
            ArrayPool<byte>.Shared.Return(returned);
        }
    }
}

/// <summary>
/// Reads a hook request in one pass of the JSON reader instead of building a document of all of it (issue 8 item 1:
/// the document's index of a 120 KB chart cost about as much again as the tokenizing). The prefetch Bundles' entries,
/// nearly all of the bytes, are located and left in place; the screens then read only the few properties they search,
/// and Firely only the entries that pass. Everything else (hook, context, draftOrders, the Patient, the Bundles'
/// type and links) goes into a small envelope that is parsed as a document as before.
/// <para>Every property is read as <c>JsonElement.TryGetProperty</c> reads it: the last occurrence of a name wins
/// (escaped names included), so a request with duplicated names means the same here as in the document. A Bundle is
/// split only when its last resourceType is "Bundle" and its last <c>entry</c> is an array; anything else stays whole in
/// the envelope and is read as before.</para>
/// </summary>
public static class PrefetchSplitter
{
    /// <summary>
    /// Splits a request body, validating its JSON grammar and depth on the way (it throws <see cref="JsonException"/>
    /// exactly where <c>JsonDocument.Parse</c> with the same depth would). Null when there is nothing to split (the
    /// body is not an object, or has no prefetch Bundle) or a prefetch key is not valid Unicode: the caller parses the
    /// body whole.
    /// </summary>
    public static SplitRequest? Split(ReadOnlyMemory<byte> body, int maxDepth)
    {
        try
        {
            return SplitOrThrow(body, maxDepth);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Text that is not valid Unicode (an escaped lone surrogate in a name or a key): the caller's whole parse and
            // escape check refuse the request, with their message.
            return null;
        }
    }

    private static SplitRequest? SplitOrThrow(ReadOnlyMemory<byte> body, int maxDepth)
    {
        var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = maxDepth });
        Dictionary<string, SplitBundle>? bundles = null;
        List<(int Start, int End)>? holes = null;
        if (!reader.Read())
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            EnsureEnd(ref reader);
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isPrefetch = reader.ValueTextEquals("prefetch"u8);
            reader.Read();
            if (!isPrefetch)
            {
                reader.Skip();
                continue;
            }

            // The last "prefetch" is the one the parser reads; an earlier one's Bundles stay whole in the envelope.
            bundles = null;
            holes = null;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                (bundles, holes) = ReadPrefetch(ref reader, body);
            }
            else
            {
                reader.Skip();
            }
        }

        EnsureEnd(ref reader);
        if (bundles is null || bundles.Count == 0)
        {
            return null;
        }

        return new SplitRequest(BuildEnvelope(body.Span, holes!, out var length), length, bundles);
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Trailing content after the value throws here, as it does in JsonDocument.Parse.
        while (reader.Read())
        {
        }
    }

    private static (Dictionary<string, SplitBundle>, List<(int, int)>) ReadPrefetch(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        var bundles = new Dictionary<string, (SplitBundle Bundle, List<(int, int)> Holes)>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            // A repeated key: the last value is the one read (HookRequestParser keeps the last).
            bundles.Remove(key);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            if (ReadBundle(ref reader, body) is { } split)
            {
                bundles[key] = split;
            }
        }

        return (bundles.ToDictionary(b => b.Key, b => b.Value.Bundle, StringComparer.Ordinal), bundles.Values.SelectMany(b => b.Holes).ToList());
    }

    /// <summary>An object under prefetch: its entries and the entry arrays' interiors, when it is a Bundle with an entry array.</summary>
    private static (SplitBundle, List<(int, int)>)? ReadBundle(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        string? type = null;
        List<SplitEntry>? entries = null;
        var holes = new List<(int, int)>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("resourceType"u8))
            {
                reader.Read();
                type = ReadTypeOrSkip(ref reader, out _);
            }
            else if (reader.ValueTextEquals("entry"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var open = (int)reader.TokenStartIndex;
                    entries = ReadEntries(ref reader, body);
                    holes.Add((open + 1, (int)reader.TokenStartIndex));
                }
                else
                {
                    entries = null;
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return type == "Bundle" && entries is not null ? (new SplitBundle(entries), holes) : null;
    }

    private static List<SplitEntry> ReadEntries(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        var entries = new List<SplitEntry>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                entries.Add(default);
                continue;
            }

            SplitEntry entry = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isResource = reader.ValueIsEscaped ? reader.ValueTextEquals("resource"u8) : reader.ValueSpan.SequenceEqual("resource"u8);
                reader.Read();
                if (isResource)
                {
                    entry = reader.TokenType == JsonTokenType.StartObject ? ReadResource(ref reader, body) : default;
                }

                reader.Skip();
            }

            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>A resource object: its bytes, its type and the screened properties' values. Ends on its EndObject.</summary>
    private static SplitEntry ReadResource(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        var start = (int)reader.TokenStartIndex;
        string? type = null;
        var typeUnreadable = false;
        var ranges = default(SplitEntry.PropertyRanges);
        for (var i = 0; i < 5; i++)
        {
            ranges[i] = (SplitEntry.Absent, 0);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var screened = Screened(ref reader);
            if (screened == ResourceTypeName)
            {
                reader.Read();
                type = ReadTypeOrSkip(ref reader, out typeUnreadable);
                continue;
            }

            reader.Read();
            if (screened < 0)
            {
                reader.Skip();
                continue;
            }

            var valueStart = (int)reader.TokenStartIndex;
            reader.Skip();
            ranges[screened] = (valueStart - start, (int)reader.BytesConsumed - valueStart);
        }

        var end = (int)reader.BytesConsumed;
        return new SplitEntry(body[start..end], type, typeUnreadable, ranges);
    }

    /// <summary>The located property of that JSON name, or null when the splitter does not locate it.</summary>
    public static ScreenedProperty? Located(string jsonName) => jsonName switch
    {
        "medicationCodeableConcept" => ScreenedProperty.MedicationCodeableConcept,
        "medicationReference" => ScreenedProperty.MedicationReference,
        "contained" => ScreenedProperty.Contained,
        "code" => ScreenedProperty.Code,
        "ingredient" => ScreenedProperty.Ingredient,
        _ => null,
    };

    private const int ResourceTypeName = 100;

    /// <summary>The located property a name is, <see cref="ResourceTypeName"/> for resourceType, or -1. An unescaped
    /// name (nearly all) is compared by length first, once; an escaped one through the reader's unescaping comparison.</summary>
    private static int Screened(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return reader.ValueTextEquals("resourceType"u8) ? ResourceTypeName
                : reader.ValueTextEquals("medicationCodeableConcept"u8) ? (int)ScreenedProperty.MedicationCodeableConcept
                : reader.ValueTextEquals("medicationReference"u8) ? (int)ScreenedProperty.MedicationReference
                : reader.ValueTextEquals("contained"u8) ? (int)ScreenedProperty.Contained
                : reader.ValueTextEquals("code"u8) ? (int)ScreenedProperty.Code
                : reader.ValueTextEquals("ingredient"u8) ? (int)ScreenedProperty.Ingredient
                : -1;
        }

        var name = reader.ValueSpan;
        return name.Length switch
        {
            4 when name.SequenceEqual("code"u8) => (int)ScreenedProperty.Code,
            9 when name.SequenceEqual("contained"u8) => (int)ScreenedProperty.Contained,
            10 when name.SequenceEqual("ingredient"u8) => (int)ScreenedProperty.Ingredient,
            12 when name.SequenceEqual("resourceType"u8) => ResourceTypeName,
            19 when name.SequenceEqual("medicationReference"u8) => (int)ScreenedProperty.MedicationReference,
            25 when name.SequenceEqual("medicationCodeableConcept"u8) => (int)ScreenedProperty.MedicationCodeableConcept,
            _ => -1,
        };
    }

    /// <summary>A resourceType value: the string, or null (skipped) when it is not one; unreadable text is flagged.</summary>
    private static string? ReadTypeOrSkip(ref Utf8JsonReader reader, out bool unreadable)
    {
        unreadable = false;
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        if (reader.ValueTextEquals("MedicationStatement"u8))
        {
            return "MedicationStatement";
        }

        if (reader.ValueTextEquals("MedicationRequest"u8))
        {
            return "MedicationRequest";
        }

        if (reader.ValueTextEquals("Observation"u8))
        {
            return "Observation";
        }

        if (reader.ValueTextEquals("Bundle"u8))
        {
            return "Bundle";
        }

        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            unreadable = true;
            return null;
        }
    }

    /// <summary>The body with the holes (entry arrays' interiors) left out, in a pooled array.</summary>
    private static byte[] BuildEnvelope(ReadOnlySpan<byte> body, List<(int Start, int End)> holes, out int length)
    {
        holes.Sort((a, b) => a.Start.CompareTo(b.Start));
        var size = body.Length - holes.Sum(h => h.End - h.Start);
        var envelope = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        var written = 0;
        var from = 0;
        foreach (var (start, end) in holes)
        {
            body[from..start].CopyTo(envelope.AsSpan(written));
            written += start - from;
            from = end;
        }

        body[from..].CopyTo(envelope.AsSpan(written));
        length = written + body.Length - from;
        return envelope;
    }
}
