using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;

namespace KetamineCds.Clinical.Rules;

/// <summary>The finding codes of the CodeSystem ketamine-cds-finding (fhir-profiles/terminology).</summary>
public static class FindingCodes
{
    public const string LamotrigineConcurrent = "lamotrigine-concurrent";
    public const string BenzodiazepineThreshold = "benzodiazepine-threshold";
    public const string BenzodiazepineBorderline = "benzodiazepine-borderline";
    public const string BenzodiazepineDoseUnknown = "benzodiazepine-dose-unknown";
    public const string BenzodiazepineBelowThreshold = "benzodiazepine-below-threshold";
    public const string KetamineCourse = "ketamine-course";
    public const string PatientDataUnreadable = "patient-data-unreadable";
}

public enum LamotrigineDoseCategory
{
    Low,
    Standard,
    Unknown,
}

/// <summary>
/// Which ketamine the call concerns: the draft order's ingredient at order-select/order-sign, the current ketamine
/// medications at patient-view. The study's IV and intranasal evidence differ (Joseph et al. 2023, Results 3.1: the CADSS
/// effect was found with the esketamine patients excluded), so the lamotrigine card says which applies.
/// </summary>
public enum KetamineForm
{
    /// <summary>No ketamine ingredient could be named (should not happen once a hook has triggered).</summary>
    Unknown,

    /// <summary>Racemic ketamine (the study gave it IV).</summary>
    RacemicKetamine,

    /// <summary>Esketamine (the study gave it intranasally).</summary>
    Esketamine,

    /// <summary>Both are ordered or current.</summary>
    Both,
}

/// <summary>Ingredient codes of CodeSystem ketamine-cds-ingredient that the rules need to tell apart.</summary>
public static class IngredientCodes
{
    public const string Esketamine = "esketamine";
}

/// <summary>A clinical finding; the card renderer turns each into one card.</summary>
public abstract record Finding(string Code);

/// <summary>Lamotrigine is active: the evidence card, with the patient's dose and category.</summary>
public sealed record LamotrigineFinding(
    IReadOnlyList<Therapy> Therapies,
    decimal? MgPerDay,
    LamotrigineDoseCategory Category,
    decimal StandardDoseMinMgPerDay) : Finding(FindingCodes.LamotrigineConcurrent)
{
    /// <summary>The patient's own QIDS-SR/CADSS course, shown next to the study's figures; null when no observations were available.</summary>
    public OutcomeSummary? Outcomes { get; init; }

    /// <summary>The ketamine ordered (order hooks) or current (patient-view): decides which route-specific evidence applies.</summary>
    public KetamineForm Ketamine { get; init; }

    /// <summary>The benzodiazepines counted (every card lists them, even below the threshold); null when there are none.</summary>
    public BenzodiazepineAssessment? Benzodiazepines { get; init; }

    /// <summary>True when a ketamine-course card is shown too (patient-view): the course is then not repeated here.</summary>
    public bool CourseShownSeparately { get; init; }
}

/// <summary>patient-view: the patient's QIDS-SR and CADSS course on ketamine/esketamine.</summary>
public sealed record KetamineCourseFinding(OutcomeSummary Outcomes) : Finding(FindingCodes.KetamineCourse)
{
    /// <summary>The benzodiazepines counted, listed on the course card too; null when there are none.</summary>
    public BenzodiazepineAssessment? Benzodiazepines { get; init; }
}

/// <summary>Why a recognized benzodiazepine (or Z-drug) line is not added to the lorazepam-equivalent total.</summary>
public enum NotCountedKind
{
    /// <summary>The route is not oral: the equivalence tables are for oral doses.</summary>
    NotOral,

    /// <summary>The primary table gives no oral lorazepam equivalence for the drug (e.g. midazolam, remimazolam).</summary>
    NoEquivalence,

    /// <summary>The daily dose could not be determined (dose, frequency or strength missing or unreadable).</summary>
    DoseUnknown,

    /// <summary>A Z-drug: shown in the table, never added to a benzodiazepine total.</summary>
    NotABenzodiazepine,
}

/// <summary>One benzodiazepine (or Z-drug) line of the calculation table.</summary>
public sealed record BenzodiazepineLine(
    Therapy Therapy,
    decimal? MgPerDay,
    decimal? PrimaryFactor,
    decimal? AlternateFactor,
    bool AlternateFactorFromPrimary,
    decimal? LorazepamEquivalentMgPerDay,
    decimal? LorazepamEquivalentMgPerDayAlternate,
    string? NotCountedReason,
    NotCountedKind? NotCountedKind = null)
{
    public bool Counted => NotCountedReason is null;
    public DailyDose Dose => Therapy.Dose;
}

/// <summary>The benzodiazepine calculation, shared by the threshold, borderline and dose-unknown findings.</summary>
public sealed record BenzodiazepineAssessment(
    IReadOnlyList<BenzodiazepineLine> Lines,
    decimal TotalPrimary,
    decimal TotalAlternate,
    decimal ThresholdMgPerDay,
    bool ThresholdInclusive,
    bool ThresholdIsSiteSetting)
{
    public IEnumerable<BenzodiazepineLine> NotCounted => Lines.Where(l => !l.Counted);

    public IEnumerable<BenzodiazepineLine> Counted => Lines.Where(l => l.Counted);

    /// <summary>Recognized benzodiazepines (not Z-drugs) that could not be counted.</summary>
    public IEnumerable<BenzodiazepineLine> NotCountedBenzodiazepines =>
        Lines.Where(l => !l.Counted && l.NotCountedKind != Rules.NotCountedKind.NotABenzodiazepine);

    /// <summary>True when a counted dose is a maximum (PRN maximum, range high end): the total is then "up to".</summary>
    public bool TotalIsUpTo => Counted.Any(l => l.Dose.IsUpTo);
}

public sealed record BenzodiazepineFinding(string FindingCode, BenzodiazepineAssessment Assessment) : Finding(FindingCode);

/// <summary>Some resources could not be read and nothing else was found: said on a card, never silent.</summary>
public sealed record UnreadableDataFinding(int UnreadableResources) : Finding(FindingCodes.PatientDataUnreadable);

/// <summary>The outcome of evaluating one hook call.</summary>
public sealed record Evaluation(bool Triggered, IReadOnlyList<Finding> Findings, IReadOnlyList<Therapy> Therapies)
{
    /// <summary>The current ketamine/esketamine entries the call was triggered by (the SMART app's course header).</summary>
    public IReadOnlyList<RecognizedMedication> KetamineEntries { get; init; } = [];

    /// <summary>The treatment dates inferred for the outcome summary (CADSS session days and the course start), in order.</summary>
    public IReadOnlyList<DateTimeOffset> TreatmentDates { get; init; } = [];

    /// <summary>The patient's QIDS-SR/CADSS course whether or not a finding carries it; null when observations were not available.</summary>
    public OutcomeSummary? Outcomes { get; init; }
}
