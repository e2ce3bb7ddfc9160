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
    public const string KetamineCourse = "ketamine-course";
    public const string PatientDataUnreadable = "patient-data-unreadable";
}

public enum LamotrigineDoseCategory
{
    Low,
    Standard,
    Unknown,
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
}

/// <summary>patient-view: the patient's QIDS-SR and CADSS course on ketamine/esketamine.</summary>
public sealed record KetamineCourseFinding(OutcomeSummary Outcomes) : Finding(FindingCodes.KetamineCourse);

/// <summary>One benzodiazepine (or Z-drug) line of the calculation table.</summary>
public sealed record BenzodiazepineLine(
    Therapy Therapy,
    decimal? MgPerDay,
    decimal? PrimaryFactor,
    decimal? AlternateFactor,
    bool AlternateFactorFromPrimary,
    decimal? LorazepamEquivalentMgPerDay,
    decimal? LorazepamEquivalentMgPerDayAlternate,
    string? NotCountedReason)
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
