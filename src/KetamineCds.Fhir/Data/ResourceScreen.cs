using System.Buffers;
using System.Text.Json;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// A cheap test of a resource's raw JSON before Firely deserializes it: a medication entry can only be recognized
/// through a name or code of ours, so an entry whose text contains none of them (case-insensitive, as substrings:
/// a superset of what the classifier matches) cannot change any finding and is not deserialized. JSON that uses
/// escapes is searched again unescaped, since a name could hide behind them.
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
        if (rawJson.Contains("\"medicationReference\"", StringComparison.Ordinal) || rawJson.AsSpan().ContainsAny(_needles))
        {
            return true;
        }

        // A name could hide behind JSON escapes ("\u0063lonazepam"). Many EHRs' serializers escape every '<' and '>' of
        // the narrative (\u003C), so an escape alone says nothing: the text is unescaped and searched again.
        return rawJson.Contains('\\', StringComparison.Ordinal) && Unescape(rawJson).AsSpan().ContainsAny(_needles);
    }

    /// <summary>The JSON text with every string escape decoded (\uXXXX, \\, \", \n...), as the classifier will see the values.</summary>
    internal static string Unescape(string json)
    {
        var builder = new System.Text.StringBuilder(json.Length);
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (c != '\\' || i + 1 >= json.Length)
            {
                builder.Append(c);
                continue;
            }

            var next = json[++i];
            if (next == 'u' && i + 4 < json.Length
                && int.TryParse(json.AsSpan(i + 1, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var code))
            {
                builder.Append((char)code);
                i += 4;
            }
            else
            {
                // \\ \" \/ stand for themselves; \n \t and the like are whitespace, which no name or code contains.
                builder.Append(next switch { 'n' or 't' or 'r' or 'b' or 'f' => ' ', _ => next });
            }
        }

        return builder.ToString();
    }

    public bool MayBeRelevant(JsonElement element) => MayBeRelevant(element.GetRawText());
}
