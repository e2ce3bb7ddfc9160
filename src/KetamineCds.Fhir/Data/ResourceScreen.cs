using System.Buffers;
using System.Text.Json;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// A cheap test of a resource's raw JSON before Firely deserializes it: a medication entry can only be recognized
/// through a name or code of ours, so an entry whose text contains none of them (case-insensitive, as substrings:
/// a superset of what the classifier matches) cannot change any finding and is not deserialized. JSON that uses
/// \u escapes is never screened out, since a name could hide behind them.
/// </summary>
public sealed class ResourceScreen
{
    private readonly SearchValues<string> _needles;

    public ResourceScreen(IEnumerable<string> needles)
    {
        ArgumentNullException.ThrowIfNull(needles);
        _needles = SearchValues.Create(needles.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every name, brand and RxNorm code of the ingredients, products and value sets.</summary>
    public static ResourceScreen ForMedications(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        var needles = knowledge.Ingredients.Values.SelectMany(i => i.Names.Append(i.Name).Concat(i.RxNormCodes))
            .Concat(knowledge.Products.Keys)
            .Concat(knowledge.RxNormClass.Keys);
        return new ResourceScreen(needles);
    }

    public bool MayBeRelevant(string rawJson)
    {
        ArgumentNullException.ThrowIfNull(rawJson);
        // A medicationReference may point to a Medication elsewhere in the bundle: the entry alone cannot tell.
        return rawJson.Contains("\\u", StringComparison.Ordinal)
            || rawJson.Contains("\"medicationReference\"", StringComparison.Ordinal)
            || rawJson.AsSpan().ContainsAny(_needles);
    }

    public bool MayBeRelevant(JsonElement element) => MayBeRelevant(element.GetRawText());
}
