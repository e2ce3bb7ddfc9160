using System.Buffers;
using System.Text.Json;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// A cheap test of a resource's raw JSON before Firely deserializes it: a medication entry can only be recognized
/// through a name or code of ours, so an entry whose text contains none of them (case-insensitive, as substrings:
/// a superset of what the classifier matches) cannot change any finding and is not deserialized. Never screened out:
/// JSON that uses \u escapes (a name could hide behind them), a medicationReference (the Medication may be elsewhere
/// in the bundle), and an entry whose medication names nothing at all (no text, no display: it must be read so it can
/// be counted as unreadable rather than dropped in silence).
/// </summary>
public sealed class ResourceScreen
{
    private readonly SearchValues<string> _needles;

    public ResourceScreen(IEnumerable<string> needles)
    {
        ArgumentNullException.ThrowIfNull(needles);
        _needles = SearchValues.Create(needles.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every name, brand and code (RxNorm, SNOMED CT substances and products, ATC) of the ingredients, products and value sets.</summary>
    public static ResourceScreen ForMedications(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        var needles = knowledge.Ingredients.Values.SelectMany(i => i.Names.Append(i.Name).Concat(i.RxNormCodes))
            .Concat(knowledge.Products.Keys)
            .Concat(knowledge.RxNormClass.Keys)
            .Concat(knowledge.Codings.AllCodes);
        return new ResourceScreen(needles);
    }

    public bool MayBeRelevant(string rawJson)
    {
        ArgumentNullException.ThrowIfNull(rawJson);
        if (MatchesCheaply(rawJson))
        {
            return true;
        }

        // Only for entries none of our names or codes appear in: is the medication named at all?
        try
        {
            using var document = JsonDocument.Parse(rawJson);
            return !MedicationIsNamed(document.RootElement);
        }
        catch (JsonException)
        {
            return true; // let the reader fail on it and count it
        }
    }

    public bool MayBeRelevant(JsonElement element) =>
        MatchesCheaply(element.GetRawText()) || !MedicationIsNamed(element);

    private bool MatchesCheaply(string rawJson) =>
        rawJson.Contains("\\u", StringComparison.Ordinal)
        || rawJson.Contains("\"medicationReference\"", StringComparison.Ordinal)
        || rawJson.AsSpan().ContainsAny(_needles);

    /// <summary>True when medicationCodeableConcept has a text or a coding display (so an unknown drug can be told apart from an unreadable one).</summary>
    private static bool MedicationIsNamed(JsonElement resource)
    {
        if (resource.ValueKind != JsonValueKind.Object
            || !resource.TryGetProperty("medicationCodeableConcept", out var concept) || concept.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (IsText(concept, "text"))
        {
            return true;
        }

        return concept.TryGetProperty("coding", out var codings) && codings.ValueKind == JsonValueKind.Array
            && codings.EnumerateArray().Any(c => c.ValueKind == JsonValueKind.Object && IsText(c, "display"));
    }

    private static bool IsText(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString());
}
