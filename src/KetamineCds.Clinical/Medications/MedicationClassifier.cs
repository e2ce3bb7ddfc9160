using System.Text.RegularExpressions;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Clinical.Medications;

/// <summary>How a medication was recognized: a code is stronger evidence than a name in free text.</summary>
public enum RecognitionBasis
{
    RxNormProductCode,
    RxNormIngredientCode,
    ValueSetCode,
    Name,
}

/// <summary>A medication entry matched to one of our ingredients.</summary>
public sealed record RecognizedMedication(MedicationFact Fact, Ingredient Ingredient, RecognitionBasis Basis, ProductInfo? Product);

/// <summary>
/// Matches medication entries to ingredients by RxNorm product and ingredient codes, then by names in displays and
/// text. A code we do not know never hides a name we do know (reference README: "never let an unknown code pass
/// silently as not a benzodiazepine when its display or text names one").
/// </summary>
public sealed class MedicationClassifier
{
    public const string RxNormSystem = "http://www.nlm.nih.gov/research/umls/rxnorm";

    private readonly ClinicalKnowledge _knowledge;
    private readonly Dictionary<string, Ingredient> _ingredientByRxNorm;
    private readonly List<(Regex Pattern, Ingredient Ingredient)> _namePatterns;

    public MedicationClassifier(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        _knowledge = knowledge;
        _ingredientByRxNorm = knowledge.Ingredients.Values
            .SelectMany(i => i.RxNormCodes.Select(code => (code, i)))
            .ToDictionary(p => p.code, p => p.i, StringComparer.Ordinal);

        // Longest names first so "chlordiazepoxide hydrochloride" wins over a shorter overlapping name.
        _namePatterns = knowledge.Ingredients.Values
            .SelectMany(i => i.Names.Append(i.Name).Distinct(StringComparer.OrdinalIgnoreCase).Select(n => (Name: n, Ingredient: i)))
            .OrderByDescending(p => p.Name.Length)
            .Select(p => (new Regex(@"(?<![\p{L}\p{N}])" + Regex.Escape(p.Name) + @"(?![\p{L}\p{N}])",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromMilliseconds(100)), p.Ingredient))
            .ToList();
    }

    /// <summary>Returns the ingredient this entry is, or null when it is none of ours.</summary>
    public RecognizedMedication? Classify(MedicationFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var rxCodes = fact.Codes
            .Concat(fact.Ingredients.SelectMany(i => i.Codes))
            .Where(c => IsRxNorm(c.System) && !string.IsNullOrWhiteSpace(c.Code))
            .Select(c => c.Code!.Trim())
            .ToList();

        foreach (var code in rxCodes)
        {
            if (_knowledge.Products.TryGetValue(code, out var product)
                && _knowledge.Ingredients.TryGetValue(product.IngredientCode, out var ingredient))
            {
                return new RecognizedMedication(fact, ingredient, RecognitionBasis.RxNormProductCode, product);
            }
        }

        foreach (var code in rxCodes)
        {
            if (_ingredientByRxNorm.TryGetValue(code, out var ingredient))
            {
                return new RecognizedMedication(fact, ingredient, RecognitionBasis.RxNormIngredientCode, null);
            }
        }

        var byName = MatchName(NamesOf(fact));
        if (byName is not null)
        {
            var basis = rxCodes.Any(_knowledge.RxNormClass.ContainsKey) ? RecognitionBasis.ValueSetCode : RecognitionBasis.Name;
            return new RecognizedMedication(fact, byName, basis, null);
        }

        return null;
    }

    /// <summary>Finds one of our ingredients named in free text (used for names and, by dosing, for sig text).</summary>
    public Ingredient? MatchName(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        foreach (var text in texts)
        {
            foreach (var (pattern, ingredient) in _namePatterns)
            {
                if (pattern.IsMatch(text))
                {
                    return ingredient;
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> NamesOf(MedicationFact fact) =>
        fact.Texts
            .Concat(fact.Codes.Select(c => c.Display))
            .Concat(fact.Ingredients.Select(i => i.Text))
            .Concat(fact.Ingredients.SelectMany(i => i.Codes.Select(c => c.Display)))
            .Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => t!);

    /// <summary>RxNorm by its FHIR URI, or by its HL7 OID (2.16.840.1.113883.6.88) as some EHRs still send it.</summary>
    private static bool IsRxNorm(string? system) =>
        string.Equals(system?.TrimEnd('/'), RxNormSystem, StringComparison.OrdinalIgnoreCase)
        || string.Equals(system, "urn:oid:2.16.840.1.113883.6.88", StringComparison.OrdinalIgnoreCase)
        || string.Equals(system, "2.16.840.1.113883.6.88", StringComparison.Ordinal);
}
