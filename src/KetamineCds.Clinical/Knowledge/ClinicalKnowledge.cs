namespace KetamineCds.Clinical.Knowledge;

/// <summary>The drug classes the rules care about. Everything else is ignored.</summary>
public enum DrugClass
{
    Ketamine,
    Lamotrigine,
    Benzodiazepine,
    ZDrug,
}

/// <summary>One ingredient of the local ingredient CodeSystem, with every name a clinician or EHR may write for it.</summary>
public sealed record Ingredient(string Code, string Name, DrugClass Class, IReadOnlyList<string> RxNormCodes, IReadOnlyList<string> Names);

/// <summary>The medication code systems we map to our ingredients.</summary>
public enum MedicationCodeSystem
{
    RxNorm,
    SnomedCt,
    Atc,
}

/// <summary>
/// A product and what its supplement says about it: an RxNorm product (SCD/SBD/pack; CodeSystem
/// rxnorm-product-ingredients) or a SNOMED CT medicinal product (CodeSystem snomed-product-ingredients).
/// </summary>
/// <param name="RxNormCode">The product's code in <see cref="CodeSystem"/> (the name predates SNOMED CT products; see <see cref="Code"/>).</param>
public sealed record ProductInfo(
    string RxNormCode,
    string Display,
    string IngredientCode,
    decimal? StrengthMg,
    decimal? StrengthMgPerMl,
    string? DoseForm,
    string? Route,
    bool Combination)
{
    /// <summary>The code system of <see cref="Code"/>; RxNorm unless the product came from the SNOMED CT supplement.</summary>
    public MedicationCodeSystem CodeSystem { get; init; } = MedicationCodeSystem.RxNorm;

    /// <summary>The product code in <see cref="CodeSystem"/>.</summary>
    public string Code => RxNormCode;

    /// <summary>The code with its system, as a pharmacist would look it up: "RxNorm 197527", "SNOMED CT 322897008".</summary>
    public string CodeLabel => CodeSystem switch
    {
        MedicationCodeSystem.SnomedCt => $"SNOMED CT {Code}",
        MedicationCodeSystem.Atc => $"ATC {Code}",
        _ => $"RxNorm {Code}",
    };
}

/// <summary>
/// Codes of other systems that name our ingredients and products, from the ConceptMap
/// medication-codes-to-ketamine-cds-ingredient (SNOMED CT substances, WHO ATC) and the SNOMED CT product supplement
/// snomed-product-ingredients, each with its sources in fhir-profiles.
/// </summary>
/// <param name="SnomedSubstances">SNOMED CT substance concept id to ingredient code.</param>
/// <param name="AtcCodes">WHO ATC code to ingredient code.</param>
/// <param name="SnomedProducts">SNOMED CT medicinal-product concept id to its product entry.</param>
public sealed record CodeMappings(
    IReadOnlyDictionary<string, string> SnomedSubstances,
    IReadOnlyDictionary<string, string> AtcCodes,
    IReadOnlyDictionary<string, ProductInfo> SnomedProducts)
{
    public static CodeMappings Empty { get; } = new(
        new Dictionary<string, string>(), new Dictionary<string, string>(), new Dictionary<string, ProductInfo>());

    /// <summary>Every code of every system here (for the pre-screen of raw resources).</summary>
    public IEnumerable<string> AllCodes => SnomedSubstances.Keys.Concat(AtcCodes.Keys).Concat(SnomedProducts.Keys);
}

/// <summary>One row of a lorazepam-equivalence table: oral mg of the drug taken as equal to 1 mg oral lorazepam.</summary>
public sealed record EquivalenceEntry(decimal EquivalentMg, string? Note);

/// <summary>A lorazepam-equivalence table, loaded from a CodeSystem supplement in fhir-profiles.</summary>
public sealed record EquivalenceTable(
    string Url,
    string Version,
    string Title,
    IReadOnlyList<string> Citations,
    IReadOnlyDictionary<string, EquivalenceEntry> ByIngredient)
{
    public EquivalenceEntry? For(string ingredientCode) => ByIngredient.GetValueOrDefault(ingredientCode);
}

/// <summary>Rule thresholds, from the finding CodeSystem's concept properties (with their citations).</summary>
public sealed record RuleThresholds(
    decimal BenzodiazepineLorazepamMgPerDay,
    bool BenzodiazepineInclusive,
    string BenzodiazepineCitation,
    decimal LamotrigineStandardDoseMinMgPerDay,
    string LamotrigineCitation);

/// <summary>A number quoted from the article, with where in the article it stands.</summary>
public sealed record EvidenceFigure(
    string Key,
    decimal Value,
    int? Numerator,
    int? Denominator,
    decimal? StandardError,
    decimal? StandardDeviation,
    string? Comparator,
    string Source);

/// <summary>
/// A reason a clinician may give for overriding a card (CodeSystem ketamine-cds-override-reason; CDS Hooks 2.0
/// overrideReasons), with the finding codes whose cards offer it. None implies stopping, tapering, holding or reducing.
/// </summary>
public sealed record OverrideReason(string System, string Code, string Display, IReadOnlyList<string> Findings);

/// <summary>The study the cards summarize: its citations and the figures a card may quote.</summary>
public sealed record EvidenceFigures(
    string Citation,
    string ShortCitation,
    string CorrectionCitation,
    string ProtocolReference,
    string DoiUrl,
    string Limitations,
    IReadOnlyDictionary<string, EvidenceFigure> Figures)
{
    /// <summary>The correction, short, for the one-line citation on a card ("correction Pharmaceuticals 16(11):1571").</summary>
    public string ShortCorrectionCitation { get; init; } = "";

    /// <summary>The benzodiazepine-threshold reference, short, for a card ("Frye et al. 2015, ...").</summary>
    public string ShortProtocolReference { get; init; } = "";

    /// <summary>The limitations in one short sentence for a card (the full text is <see cref="Limitations"/>).</summary>
    public string ShortLimitations { get; init; } = "";

    /// <summary>A figure by key; a missing key is a knowledge-artifact error caught at start-up.</summary>
    public EvidenceFigure this[string key] =>
        Figures.TryGetValue(key, out var figure)
            ? figure
            : throw new KeyNotFoundException($"Evidence figure '{key}' is missing from the knowledge artifacts.");
}

/// <summary>Everything the rules know, loaded once at start-up from fhir-profiles.</summary>
public sealed record ClinicalKnowledge(
    IReadOnlyDictionary<string, Ingredient> Ingredients,
    IReadOnlyDictionary<string, DrugClass> RxNormClass,
    IReadOnlyDictionary<string, ProductInfo> Products,
    EquivalenceTable PrimaryEquivalence,
    EquivalenceTable AlternateEquivalence,
    RuleThresholds Thresholds,
    EvidenceFigures Evidence)
{
    /// <summary>The sig vocabulary (frequencies, routes, units, number words), from its CodeSystem in fhir-profiles.</summary>
    public Dosing.SigVocabulary Sig { get; init; } = Dosing.SigVocabulary.Empty;

    /// <summary>SNOMED CT and ATC mappings (seam 1 of INTERFACES.md: knowledge grows by init properties).</summary>
    public CodeMappings Codings { get; init; } = CodeMappings.Empty;

    /// <summary>Override reasons offered on cards (CodeSystem ketamine-cds-override-reason), in CodeSystem order.</summary>
    public IReadOnlyList<OverrideReason> OverrideReasons { get; init; } = [];

    /// <summary>The evidence figure keys the cards quote; the loader checks they are all present.</summary>
    public static IReadOnlyList<string> RequiredFigureKeys { get; } =
    [
        "cohort-n", "cohort-iv-ketamine-n", "cohort-in-esketamine-n", "cohort-lamotrigine-n", "cohort-no-lamotrigine-n",
        "response-lamotrigine-percent", "response-no-lamotrigine-percent", "response-p",
        "remission-lamotrigine-percent", "remission-no-lamotrigine-percent", "remission-p",
        "qids-interaction-p", "qids-group-effect-p",
        "cadss-mean-lamotrigine", "cadss-mean-no-lamotrigine", "cadss-p",
        "iv-cadss-lamotrigine-effect-p", "iv-qids-lamotrigine-effect-p",
        "iv-cadss-mean-first-five-lamotrigine", "iv-cadss-mean-first-five-no-lamotrigine",
        "cohort-lamotrigine-in-esketamine-n", "iv-only-n", "iv-only-lamotrigine-n",
        "response-definition-percent-reduction", "remission-definition-max-qids",
        "case-series-n", "case-series-response-percent", "case-series-remission-percent",
        "case-series-low-dose-n", "case-series-standard-dose-n",
        "psychotropics-lamotrigine-mean", "psychotropics-no-lamotrigine-mean", "psychotropics-p",
        "benzodiazepine-protocol-max-lorazepam-mg-per-day",
    ];
}
