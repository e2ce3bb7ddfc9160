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
    /// <remarks>
    /// Order of evidence: an RxNorm product code, a SNOMED CT product code, an RxNorm ingredient code, a SNOMED CT
    /// substance or ATC code (whichever comes first in the entry), then a name. Within each kind the first code in the
    /// entry's order wins (the medication's codes, then its ingredients' codes). One pass over the codes notes the first
    /// hit of each kind in the dictionaries built at load, so a call allocates only its result (it runs for every
    /// medication of every hook call).
    /// </remarks>
    public RecognizedMedication? Classify(MedicationFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var scan = new CodeScan();
        Scan(fact.Codes, ref scan);
        foreach (var ingredient in fact.Ingredients)
        {
            Scan(ingredient.Codes, ref scan);
        }

        if (scan.RxProduct is { } rxProduct)
        {
            return new RecognizedMedication(fact, scan.RxProductIngredient!, RecognitionBasis.RxNormProductCode, rxProduct);
        }

        if (scan.SnomedProduct is { } snomedProduct)
        {
            return new RecognizedMedication(fact, scan.SnomedProductIngredient!, RecognitionBasis.SnomedProductCode, snomedProduct);
        }

        if (scan.RxIngredient is { } rxIngredient)
        {
            return new RecognizedMedication(fact, rxIngredient, RecognitionBasis.RxNormIngredientCode, null);
        }

        if (scan.Mapped is { } mapped)
        {
            return new RecognizedMedication(fact, mapped, scan.MappedBasis, null);
        }

        var byName = MatchName(fact);
        if (byName is not null)
        {
            var basis = scan.RxInValueSet ? RecognitionBasis.ValueSetCode : RecognitionBasis.Name;
            return new RecognizedMedication(fact, byName, basis, null);
        }

        return null;
    }

    /// <summary>The first hit of each kind of code evidence in one entry.</summary>
    private struct CodeScan
    {
        public ProductInfo? RxProduct;
        public Ingredient? RxProductIngredient;
        public ProductInfo? SnomedProduct;
        public Ingredient? SnomedProductIngredient;
        public Ingredient? RxIngredient;
        public Ingredient? Mapped;
        public RecognitionBasis MappedBasis;
        public bool RxInValueSet;
    }

    private void Scan(IReadOnlyList<CodeFact> codes, ref CodeScan scan)
    {
        var knowledge = _knowledge;
        var codings = knowledge.Codings;
        for (var i = 0; i < codes.Count; i++)
        {
            var coding = codes[i];
            if (string.IsNullOrWhiteSpace(coding.Code) || SystemOf(coding.System) is not { } system)
            {
                continue;
            }

            var code = coding.Code.Trim();
            switch (system)
            {
                case MedicationCodeSystem.RxNorm:
                    if (scan.RxProduct is null && knowledge.Products.TryGetValue(code, out var product)
                        && knowledge.Ingredients.TryGetValue(product.IngredientCode, out var productIngredient))
                    {
                        (scan.RxProduct, scan.RxProductIngredient) = (product, productIngredient);
                    }

                    if (scan.RxIngredient is null && _ingredientByRxNorm.TryGetValue(code, out var ingredient))
                    {
                        scan.RxIngredient = ingredient;
                    }

                    scan.RxInValueSet |= knowledge.RxNormClass.ContainsKey(code);
                    break;
                case MedicationCodeSystem.SnomedCt:
                    if (scan.SnomedProduct is null && codings.SnomedProducts.TryGetValue(code, out var snomedProduct)
                        && knowledge.Ingredients.TryGetValue(snomedProduct.IngredientCode, out var snomedIngredient))
                    {
                        (scan.SnomedProduct, scan.SnomedProductIngredient) = (snomedProduct, snomedIngredient);
                    }

                    if (scan.Mapped is null && codings.SnomedSubstances.TryGetValue(code, out var substance)
                        && knowledge.Ingredients.TryGetValue(substance, out var substanceIngredient))
                    {
                        (scan.Mapped, scan.MappedBasis) = (substanceIngredient, RecognitionBasis.SnomedSubstanceCode);
                    }

                    break;
                case MedicationCodeSystem.Atc:
                    // ATC codes are upper-case by definition; some systems send them lower-case.
                    if (scan.Mapped is null && codings.AtcCodes.TryGetValue(code.ToUpperInvariant(), out var atc)
                        && knowledge.Ingredients.TryGetValue(atc, out var atcIngredient))
                    {
                        (scan.Mapped, scan.MappedBasis) = (atcIngredient, RecognitionBasis.AtcCode);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// The names the entry gives, in order (its texts, its codings' displays, its ingredients' texts, their codings'
    /// displays), matched against our ingredient names: the first text that names one of ours decides.
    /// </summary>
    private Ingredient? MatchName(MedicationFact fact)
    {
        foreach (var text in fact.Texts)
        {
            if (MatchText(text) is { } found)
            {
                return found;
            }
        }

        if (MatchDisplays(fact.Codes) is { } byDisplay)
        {
            return byDisplay;
        }

        foreach (var ingredient in fact.Ingredients)
        {
            if (MatchText(ingredient.Text) is { } found)
            {
                return found;
            }
        }

        foreach (var ingredient in fact.Ingredients)
        {
            if (MatchDisplays(ingredient.Codes) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private Ingredient? MatchDisplays(IReadOnlyList<CodeFact> codes)
    {
        for (var i = 0; i < codes.Count; i++)
        {
            if (MatchText(codes[i].Display) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private Ingredient? MatchText(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        foreach (var (name, ingredient) in _names)
        {
            if (ContainsWord(text, name))
            {
                return ingredient;
            }
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
        // The canonical URIs, as nearly every EHR sends them, without the normalizing below.
        switch (system)
        {
            case RxNormSystem:
                return MedicationCodeSystem.RxNorm;
            case SnomedSystem:
                return MedicationCodeSystem.SnomedCt;
            case AtcSystem:
                return MedicationCodeSystem.Atc;
        }

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
}
