namespace KetamineCds.Clinical.Outcomes;

/// <summary>The assessment totals the outcome summary reads (CodeSystem ketamine-cds-assessment).</summary>
public enum AssessmentKind
{
    /// <summary>QIDS-SR16 total score, 0-27 (Rush et al. 2003).</summary>
    QidsSr16,

    /// <summary>CADSS total score, 23-item clinician-administered version, 0-92.</summary>
    Cadss,
}

/// <summary>One assessment total from the patient's record, as plain data (the FHIR edge builds these).</summary>
/// <param name="Reference">The source, e.g. "Observation/abc", used to name the score on a card.</param>
/// <param name="Kind">Which assessment.</param>
/// <param name="When">When the assessment was made (effective[x], else issued).</param>
/// <param name="Score">The total score as recorded.</param>
public sealed record AssessmentScore(string Reference, AssessmentKind Kind, DateTimeOffset When, decimal Score);

/// <summary>The inclusive range of possible total scores of an assessment.</summary>
public sealed record ScoreRange(decimal Min, decimal Max)
{
    public bool Contains(decimal score) => score >= Min && score <= Max;
}

/// <summary>
/// Outcome definitions and score ranges, loaded from the concept properties of CodeSystem ketamine-cds-assessment
/// (response and remission as Joseph et al. 2023 define them; ranges from Rush et al. 2003 and the CADSS).
/// </summary>
/// <param name="ResponseMinPercentReduction">Response: the latest QIDS-SR16 is at least this many percent below baseline (50).</param>
/// <param name="RemissionMaxScore">Remission: the latest QIDS-SR16 is at or below this score (5).</param>
/// <param name="QidsRange">Possible QIDS-SR16 totals (0-27).</param>
/// <param name="CadssRange">Possible CADSS totals (0-92).</param>
public sealed record OutcomeDefinitions(
    decimal ResponseMinPercentReduction,
    decimal RemissionMaxScore,
    ScoreRange QidsRange,
    ScoreRange CadssRange)
{
    public ScoreRange RangeFor(AssessmentKind kind) => kind switch
    {
        AssessmentKind.QidsSr16 => QidsRange,
        AssessmentKind.Cadss => CadssRange,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown assessment kind."),
    };
}
