using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// A cheap test of a resource's raw JSON before Firely deserializes it. A medication entry can only be recognized
/// through a name or code of ours in its <c>medication[x]</c> (or a contained Medication), and an Observation can only be
/// an assessment through its <c>code</c>; so only those parts are searched (case-insensitive substrings: a superset of
/// what the classifier matches), and an entry whose parts contain none of our names or codes cannot change any finding
/// and is not deserialized. Values are searched unescaped, since a name could hide behind an escape.
/// </summary>
public sealed class ResourceScreen
{
    private readonly SearchValues<string> _needles;
    private readonly string[] _scope;
    private readonly bool _medications;

    /// <summary>The scope as the splitter's located properties; null when one of them is not located (then split entries are parsed).</summary>
    private readonly ScreenedProperty[]? _scopeProperties;

    /// <param name="scope">The properties of the resource that are searched; empty: the whole resource.</param>
    /// <param name="medications">Medication rules: a <c>medicationReference</c> always passes (its Medication lies elsewhere in
    /// the bundle), and so does an entry whose medication carries no name at all (it is counted as unreadable downstream,
    /// never dropped in silence).</param>
    public ResourceScreen(IEnumerable<string> needles, IReadOnlyList<string>? scope = null, bool medications = false)
    {
        ArgumentNullException.ThrowIfNull(needles);
        _needles = SearchValues.Create(needles.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray(), StringComparison.OrdinalIgnoreCase);
        _scope = scope?.ToArray() ?? [];
        _medications = medications;
        _scopeProperties = _scope.All(p => PrefetchSplitter.Located(p) is not null)
            ? [.. _scope.Select(p => PrefetchSplitter.Located(p)!.Value)]
            : null;
    }

    /// <summary>Every name, brand and code (RxNorm, SNOMED CT substances and products, ATC) of the ingredients, products and
    /// value sets, searched in medication[x] and contained Medications.</summary>
    public static ResourceScreen ForMedications(ClinicalKnowledge knowledge) =>
        new(MedicationNeedles(knowledge), ["medicationCodeableConcept", "contained"], medications: true);

    /// <summary>The same names and codes, searched in a Medication resource's code and ingredients (the target of a
    /// medicationReference, when Medications arrive on their own, as in a Bulk Data export).</summary>
    public static ResourceScreen ForMedicationResources(ClinicalKnowledge knowledge) =>
        new(MedicationNeedles(knowledge), ["code", "ingredient"]);

    private static IEnumerable<string> MedicationNeedles(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        return knowledge.Ingredients.Values.SelectMany(i => i.Names.Append(i.Name).Concat(i.RxNormCodes))
            .Concat(knowledge.Products.Keys)
            .Concat(knowledge.RxNormClass.Keys)
            .Concat(knowledge.Codings.AllCodes);
    }

    /// <summary>Screens one resource given as UTF-8 JSON (an NDJSON line); JSON that does not parse passes, for the reader to judge.</summary>
    public bool MayBeRelevant(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            using var document = JsonDocument.ParseValue(ref reader);
            return MayBeRelevant(document.RootElement);
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary>Screens a resource given as JSON text (tests, tools); text that is not JSON passes, for the parser to judge.</summary>
    public bool MayBeRelevant(string rawJson)
    {
        ArgumentNullException.ThrowIfNull(rawJson);
        try
        {
            using var document = JsonDocument.Parse(rawJson);
            return MayBeRelevant(document.RootElement);
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary>Screens an entry of the request as it lies in the request's bytes: no copy of it as a string.</summary>
    public bool MayBeRelevant(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return true;
        }

        if (_scope.Length == 0)
        {
            return Contains(element);
        }

        if (_medications && element.TryGetProperty("medicationReference", out _))
        {
            return true;
        }

        var found = false;
        foreach (var property in _scope)
        {
            if (element.TryGetProperty(property, out var part))
            {
                found = true;
                if (Contains(part))
                {
                    return true;
                }
            }
        }

        // A medication entry with no medication, or a concept that names nothing (no text, no display: a bare code we may
        // not know), cannot be ruled out here: it goes on to the classifier and, unrecognized, is counted as unreadable.
        return _medications && (!found || (element.TryGetProperty("medicationCodeableConcept", out var concept) && !Names(concept)));
    }

    /// <summary>
    /// Screens an entry split out of the request (<see cref="PrefetchSplitter"/>): the same decision as for the element,
    /// from the values of the few properties the splitter located, with no document built.
    /// </summary>
    public bool MayBeRelevant(SplitEntry entry)
    {
        if (_scope.Length == 0 || _scopeProperties is null)
        {
            // A screen of the whole resource, or of properties the splitter does not locate: read it as a document.
            return MayBeRelevant(entry.Resource.Span);
        }

        if (_medications && entry.TryGetProperty(ScreenedProperty.MedicationReference, out _))
        {
            return true;
        }

        var found = false;
        foreach (var property in _scopeProperties)
        {
            if (entry.TryGetProperty(property, out var part))
            {
                found = true;
                if (Contains(part))
                {
                    return true;
                }
            }
        }

        return _medications && (!found || (entry.TryGetProperty(ScreenedProperty.MedicationCodeableConcept, out var concept) && !Names(concept)));
    }

    /// <summary>
    /// <see cref="Names(JsonElement)"/> over the concept's bytes, reading each name's last occurrence as
    /// <c>TryGetProperty</c> does (<c>NamesAgreeWithTheDocument</c> tests hold the two together).
    /// </summary>
    internal static bool Names(ReadOnlySpan<byte> concept)
    {
        var reader = new Utf8JsonReader(concept);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        bool text = false, coding = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                text = IsText(ref reader);
            }
            else if (reader.ValueTextEquals("coding"u8))
            {
                reader.Read();
                coding = reader.TokenType == JsonTokenType.StartArray ? AnyDisplay(ref reader) : SkipFalse(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return text || coding;

        static bool AnyDisplay(ref Utf8JsonReader reader)
        {
            var any = false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                var display = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isDisplay = reader.ValueTextEquals("display"u8);
                    reader.Read();
                    if (isDisplay)
                    {
                        display = IsText(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                any |= display;
            }

            return any;
        }

        static bool IsText(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return SkipFalse(ref reader);
            }

            // Nearly every name starts with a letter: a printable ASCII byte in an unescaped string is not white space,
            // and answers without making the string.
            if (!reader.ValueIsEscaped && reader.ValueSpan.IndexOfAnyInRange((byte)0x21, (byte)0x7E) >= 0)
            {
                return true;
            }

            try
            {
                return !string.IsNullOrWhiteSpace(reader.GetString());
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        static bool SkipFalse(ref Utf8JsonReader reader)
        {
            reader.Skip();
            return false;
        }
    }

    /// <summary>True when the concept has a text or a coding display (so an unknown drug can be told apart from an unreadable one).</summary>
    private static bool Names(JsonElement concept) =>
        concept.ValueKind == JsonValueKind.Object
        && (IsText(concept, "text")
            || (concept.TryGetProperty("coding", out var codings) && codings.ValueKind == JsonValueKind.Array
                && codings.EnumerateArray().Any(c => c.ValueKind == JsonValueKind.Object && IsText(c, "display"))));

    private static bool IsText(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
        && !string.IsNullOrWhiteSpace(SafeString(value));

    /// <summary>The string, or null when it is not valid Unicode (then it names nothing readable).</summary>
    private static string? SafeString(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when a string (or number) value inside <paramref name="part"/> contains one of the needles. Values are
    /// searched unescaped, as the classifier will read them ("\u0063lonazepam" is clonazepam), each followed by a line
    /// break so no match spans two values. A coding's <c>system</c> is not searched: the classifier matches codes and
    /// names, never a system URI, and URIs were half the text (an OID such as 2.16.840.1.113883.6.88 also contains short
    /// numeric codes). Numbers are searched as written: a code sent as a number is still a code.
    /// </summary>
    private bool Contains(JsonElement part) => Contains(JsonMarshal.GetRawUtf8Value(part));

    private bool Contains(ReadOnlySpan<byte> utf8)
    {
        // Never longer than the bytes: a value's chars are at most its bytes, and each value's quotes pay for its separator.
        var buffer = ArrayPool<char>.Shared.Rent(utf8.Length + 1);
        try
        {
            var length = 0;
            var reader = new Utf8JsonReader(utf8);
            var inSystem = false;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        inSystem = reader.ValueTextEquals("system"u8);
                        continue;
                    case JsonTokenType.String when !inSystem:
                        length += reader.CopyString(buffer.AsSpan(length));
                        buffer[length++] = '\n';
                        break;
                    case JsonTokenType.Number when !inSystem:
                        length += Encoding.UTF8.GetChars(reader.ValueSpan, buffer.AsSpan(length));
                        buffer[length++] = '\n';
                        break;
                }

                inSystem = false;
            }

            return ((ReadOnlySpan<char>)buffer.AsSpan(0, length)).ContainsAny(_needles);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or JsonException)
        {
            // Text that is not valid Unicode cannot be searched, so it cannot be ruled out: the reader judges it.
            return true;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
