namespace KetamineCds.Clinical.Outcomes;

/// <summary>Why a score was left out of the outcome summary.</summary>
public enum ExclusionReason
{
    /// <summary>The total is outside the assessment's possible range (e.g. a QIDS-SR16 of 31).</summary>
    OutOfRange,

    /// <summary>The Observation did not conform to its KetamineCds profile (see the detail for the issues).</summary>
    FailedValidation,

    /// <summary>The Observation is recognized but has no usable value or date (checked by the FHIR edge).</summary>
    Unreadable,
}

/// <summary>A score (or Observation) that was left out, and why; the card says how many and why.</summary>
public sealed record ExcludedScore(string Reference, AssessmentKind? Kind, ExclusionReason Reason, string Detail);

/// <summary>How the QIDS-SR16 baseline was chosen.</summary>
public enum BaselineBasis
{
    /// <summary>The last score at or before the first ketamine/esketamine treatment (the article's baseline).</summary>
    LastBeforeFirstTreatment,

    /// <summary>No treatment dates are known: the earliest score.</summary>
    EarliestNoTreatmentDates,

    /// <summary>Treatments are known but every score is after the first one: the earliest score, which is already on treatment.</summary>
    EarliestAfterTreatmentStarted,
}

/// <summary>The QIDS-SR16 score after one treatment, and its change from baseline.</summary>
/// <param name="TreatmentNumber">1 for the first treatment.</param>
/// <param name="PercentChange">Percent change from baseline, rounded to 0.1; null when the baseline is 0 or missing.</param>
public sealed record QidsSeriesPoint(
    int TreatmentNumber,
    DateTimeOffset TreatmentDate,
    AssessmentScore Score,
    decimal? PercentChange);

/// <summary>QIDS-SR16 course.</summary>
public sealed record QidsOutcome
{
    public AssessmentScore? BaselineScore { get; init; }
    public BaselineBasis? BaselineBasis { get; init; }
    public AssessmentScore? LatestScore { get; init; }

    /// <summary>(latest - baseline) / baseline x 100, rounded to 0.1; negative is improvement. Null when there is no later
    /// score than the baseline, or the baseline is 0.</summary>
    public decimal? PercentChange { get; init; }

    /// <summary>At least the defined percent reduction from baseline (unrounded); null when no change can be computed.</summary>
    public bool? Response { get; init; }

    /// <summary>Latest at or below the remission score; null when there is no score after the baseline.</summary>
    public bool? Remission { get; init; }

    /// <summary>Whether any score after the baseline reached response (the article counts response "at some point during
    /// the induction phase"); null when there is no score after the baseline or the baseline is 0.</summary>
    public bool? ResponseAtAnyPoint { get; init; }

    /// <summary>Whether any score after the baseline reached remission; null when there is no score after the baseline.</summary>
    public bool? RemissionAtAnyPoint { get; init; }

    /// <summary>The first score after each treatment (before the next one), in treatment order.</summary>
    public IReadOnlyList<QidsSeriesPoint> Series { get; init; } = [];

    /// <summary>In-range QIDS-SR16 scores used.</summary>
    public int Count { get; init; }

    public decimal? Baseline => BaselineScore?.Score;
    public decimal? Latest => LatestScore?.Score;
}

/// <summary>CADSS (dissociation) summary.</summary>
public sealed record CadssOutcome
{
    /// <summary>Mean of the in-range CADSS totals, rounded to 0.01.</summary>
    public decimal? Mean { get; init; }
    public AssessmentScore? LatestScore { get; init; }
    public int Count { get; init; }

    public decimal? Latest => LatestScore?.Score;
}

/// <summary>The patient's own course on ketamine/esketamine, to show next to the study's figures.</summary>
public sealed record OutcomeSummary(QidsOutcome Qids, CadssOutcome Cadss, IReadOnlyList<ExcludedScore> Excluded)
{
    public int ExcludedCount => Excluded.Count;

    public bool HasScores => Qids.Count > 0 || Cadss.Count > 0;

    /// <summary>Excluded scores counted by reason, for a card line such as "2 scores not used: 1 out of range, 1 failed validation".</summary>
    public IReadOnlyDictionary<ExclusionReason, int> ExcludedByReason =>
        Excluded.GroupBy(e => e.Reason).ToDictionary(g => g.Key, g => g.Count());
}
