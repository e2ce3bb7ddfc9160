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

/// <summary>An RxNorm product (SCD/SBD/pack) and what the product supplement says about it.</summary>
public sealed record ProductInfo(
    string RxNormCode,
    string Display,
    string IngredientCode,
    decimal? StrengthMg,
    decimal? StrengthMgPerMl,
    string? DoseForm,
    string? Route,
    bool Combination);

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
