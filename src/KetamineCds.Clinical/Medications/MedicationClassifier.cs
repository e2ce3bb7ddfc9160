using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Clinical.Medications;

/// <summary>How a medication was recognized: a code is stronger evidence than a name in free text.</summary>
public enum RecognitionBasis
{
    RxNormProductCode,
    RxNormIngredientCode,
    ValueSetCode,
    Name,
    SnomedProductCode,
    SnomedSubstanceCode,
    AtcCode,
}

/// <summary>A medication entry matched to one of our ingredients.</summary>
public sealed record RecognizedMedication(MedicationFact Fact, Ingredient Ingredient, RecognitionBasis Basis, ProductInfo? Product)
{
    /// <summary>
    /// The name a clinician reads: the record's own text or display; else, for an entry known only by a code, the
    /// product's name and strength from its supplement ("clonazepam 0.5 MG Oral Tablet" for RxNorm 197527), else the
    /// ingredient's name. Never a bare code (issue 7, item 5).
    /// </summary>
    public string DisplayName => Fact.Name ?? Product?.Display ?? Ingredient.Name;
}

/// <summary>
/// Matches medication entries to ingredients by their codes (RxNorm products and ingredients, SNOMED CT products and
/// substances, WHO ATC), then by names in displays and text. Products come first because they also give the strength.
/// A code we do not know never hides a name we do know (reference README: "never let an unknown code pass silently as
/// not a benzodiazepine when its display or text names one"). Every code and name comes from fhir-profiles.
/// </summary>
public sealed class MedicationClassifier
{
    public const string RxNormSystem = "http://www.nlm.nih.gov/research/umls/rxnorm";
    public const string SnomedSystem = "http://snomed.info/sct";
    public const string AtcSystem = "http://www.whocc.no/atc";

    private readonly ClinicalKnowledge _knowledge;
    private readonly Dictionary<string, Ingredient> _ingredientByRxNorm;
    private readonly List<(string Name, Ingredient Ingredient)> _names;

    public MedicationClassifier(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        _knowledge = knowledge;
        _ingredientByRxNorm = knowledge.Ingredients.Values
            .SelectMany(i => i.RxNormCodes.Select(code => (code, i)))
            .ToDictionary(p => p.code, p => p.i, StringComparer.Ordinal);

        // Longest names first so "chlordiazepoxide hydrochloride" wins over a shorter overlapping name.
        _names = knowledge.Ingredients.Values
            .SelectMany(i => i.Names.Append(i.Name).Distinct(StringComparer.OrdinalIgnoreCase).Select(n => (Name: n.Trim(), Ingredient: i)))
            .Where(p => p.Name.Length > 0)
            .OrderByDescending(p => p.Name.Length)
            .ToList();
    }

    /// <summary>Returns the ingredient this entry is, or null when it is none of ours.</summary>
    public RecognizedMedication? Classify(MedicationFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var codes = fact.Codes
            .Concat(fact.Ingredients.SelectMany(i => i.Codes))
            .Where(c => !string.IsNullOrWhiteSpace(c.Code))
            .Select(c => (System: SystemOf(c.System), Code: c.Code!.Trim()))
            .Where(c => c.System is not null)
            .ToList();
        var rxCodes = codes.Where(c => c.System == MedicationCodeSystem.RxNorm).Select(c => c.Code).ToList();
        var snomedCodes = codes.Where(c => c.System == MedicationCodeSystem.SnomedCt).Select(c => c.Code).ToList();
        var codings = _knowledge.Codings;

        if (ProductOf(rxCodes, _knowledge.Products) is { } rxProduct)
        {
            return new RecognizedMedication(fact, rxProduct.Ingredient, RecognitionBasis.RxNormProductCode, rxProduct.Product);
        }

        if (ProductOf(snomedCodes, codings.SnomedProducts) is { } snomedProduct)
        {
            return new RecognizedMedication(fact, snomedProduct.Ingredient, RecognitionBasis.SnomedProductCode, snomedProduct.Product);
        }

        foreach (var code in rxCodes)
        {
            if (_ingredientByRxNorm.TryGetValue(code, out var ingredient))
            {
                return new RecognizedMedication(fact, ingredient, RecognitionBasis.RxNormIngredientCode, null);
            }
        }

        foreach (var (system, code) in codes)
        {
            var map = system switch
            {
                MedicationCodeSystem.SnomedCt => codings.SnomedSubstances,
                MedicationCodeSystem.Atc => codings.AtcCodes,
                _ => null,
            };
            // ATC codes are upper-case by definition; some systems send them lower-case.
            if (map is not null && map.TryGetValue(system == MedicationCodeSystem.Atc ? code.ToUpperInvariant() : code, out var ingredientCode)
                && _knowledge.Ingredients.TryGetValue(ingredientCode, out var ingredient))
            {
                var basis = system == MedicationCodeSystem.Atc ? RecognitionBasis.AtcCode : RecognitionBasis.SnomedSubstanceCode;
                return new RecognizedMedication(fact, ingredient, basis, null);
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
            foreach (var (name, ingredient) in _names)
            {
                if (ContainsWord(text, name))
                {
                    return ingredient;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The name as a whole word (not inside a longer word or number), case-insensitive. A plain search rather than a
    /// regular expression: no match timeout to hit when the machine is loaded, and linear in the text.
    /// </summary>
    private static bool ContainsWord(string text, string name)
    {
        for (var at = text.IndexOf(name, StringComparison.OrdinalIgnoreCase); at >= 0;
             at = at + 1 < text.Length ? text.IndexOf(name, at + 1, StringComparison.OrdinalIgnoreCase) : -1)
        {
            var end = at + name.Length;
            if ((at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The code system a coding names, by its FHIR URI or its HL7 OID, as EHRs send them: RxNorm
    /// (2.16.840.1.113883.6.88), SNOMED CT (2.16.840.1.113883.6.96; also an edition/version URI such as
    /// http://snomed.info/sct/900000000000207008/version/20240101 put in system), WHO ATC (2.16.840.1.113883.6.73).
    /// Null for any other system.
    /// </summary>
    public static MedicationCodeSystem? SystemOf(string? system)
    {
        if (string.IsNullOrWhiteSpace(system))
        {
            return null;
        }

        var s = system.Trim().TrimEnd('/');
        if (s.StartsWith("urn:oid:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["urn:oid:".Length..];
        }

        if (s.Equals(RxNormSystem, StringComparison.OrdinalIgnoreCase) || s == "2.16.840.1.113883.6.88")
        {
            return MedicationCodeSystem.RxNorm;
        }

        if (s.Equals(SnomedSystem, StringComparison.OrdinalIgnoreCase) || s.StartsWith(SnomedSystem + "/", StringComparison.OrdinalIgnoreCase)
            || s == "2.16.840.1.113883.6.96")
        {
            return MedicationCodeSystem.SnomedCt;
        }

        if (s.Equals(AtcSystem, StringComparison.OrdinalIgnoreCase) || s == "2.16.840.1.113883.6.73")
        {
            return MedicationCodeSystem.Atc;
        }

        return null;
    }

    private (ProductInfo Product, Ingredient Ingredient)? ProductOf(List<string> codes, IReadOnlyDictionary<string, ProductInfo> products)
    {
        foreach (var code in codes)
        {
            if (products.TryGetValue(code, out var product) && _knowledge.Ingredients.TryGetValue(product.IngredientCode, out var ingredient))
            {
                return (product, ingredient);
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
}
