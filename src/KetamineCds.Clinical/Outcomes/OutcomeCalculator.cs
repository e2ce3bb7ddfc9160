namespace KetamineCds.Clinical.Outcomes;

/// <summary>
/// Computes the patient's QIDS-SR16 and CADSS course from their scores and ketamine/esketamine treatment dates, with the
/// definitions of Joseph et al. 2023 (Pharmaceuticals 16(8):1164, Methods 2.1): response is a >= 50% reduction of the
/// QIDS-SR from baseline, remission a QIDS-SR <= 5. The numbers come from <see cref="OutcomeDefinitions"/> (CodeSystem
/// ketamine-cds-assessment), not from constants here.
/// </summary>
/// <remarks>
/// Rules, chosen so that the summary never overstates improvement:
/// <list type="bullet">
/// <item>Baseline = the last QIDS-SR16 at or before the first treatment instant (a score at the same instant as the
/// treatment counts as pre-treatment); with no treatment dates, or no score before the first one, the earliest score
/// (<see cref="BaselineBasis"/> says which).</item>
/// <item>Ties (several scores at the same instant): the baseline takes the LOWER score and the latest (and each series
/// point) the HIGHER score. Both choices make the reduction smaller, so a tie can only understate a response or remission.</item>
/// <item>A single score (or a latest that is the baseline itself): no change, response or remission is computed.</item>
/// <item>Baseline 0: no percent change or response; remission is still judged from the latest score.</item>
/// <item>Scores outside the assessment's range are excluded and counted with the reason.</item>
/// <item>Series point n = the first score after treatment n and at or before treatment n + 1 (patients complete the
/// QIDS-SR about 24 h after each treatment, Methods 2.1); treatments without such a score have no point.</item>
/// </list>
/// </remarks>
public sealed class OutcomeCalculator(OutcomeDefinitions definitions)
{
    private readonly OutcomeDefinitions _definitions = definitions ?? throw new ArgumentNullException(nameof(definitions));

    /// <param name="scores">The patient's assessment totals (any order, any kind).</param>
    /// <param name="treatmentDates">Instants of ketamine/esketamine treatments (any order; may be empty).</param>
    /// <param name="alreadyExcluded">Observations the FHIR edge already left out (failed validation, unreadable), to be
    /// reported with the rest.</param>
    public OutcomeSummary Summarize(
        IEnumerable<AssessmentScore> scores,
        IEnumerable<DateTimeOffset> treatmentDates,
        IEnumerable<ExcludedScore>? alreadyExcluded = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(treatmentDates);

        var excluded = alreadyExcluded?.ToList() ?? [];
        var usable = new List<AssessmentScore>();
        foreach (var score in scores)
        {
            var range = _definitions.RangeFor(score.Kind);
            if (range.Contains(score.Score))
            {
                usable.Add(score);
            }
            else
            {
                excluded.Add(new ExcludedScore(
                    score.Reference,
                    score.Kind,
                    ExclusionReason.OutOfRange,
                    FormattableString.Invariant($"score {score.Score} is outside {range.Min}-{range.Max}")));
            }
        }

        var treatments = treatmentDates.Distinct().Order().ToList();
        var qids = SummarizeQids(usable.Where(s => s.Kind == AssessmentKind.QidsSr16).ToList(), treatments);
        var cadss = SummarizeCadss(usable.Where(s => s.Kind == AssessmentKind.Cadss).ToList());
        return new OutcomeSummary(qids, cadss, excluded);
    }

    private QidsOutcome SummarizeQids(List<AssessmentScore> scores, List<DateTimeOffset> treatments)
    {
        if (scores.Count == 0)
        {
            return new QidsOutcome();
        }

        // Ordered by time, and within one instant by score, so "first/lowest" and "last/highest" are unambiguous.
        var ordered = scores.OrderBy(s => s.When).ThenBy(s => s.Score).ThenBy(s => s.Reference, StringComparer.Ordinal).ToList();

        AssessmentScore baseline;
        BaselineBasis basis;
        var preTreatment = treatments.Count > 0 ? ordered.Where(s => s.When <= treatments[0]).ToList() : [];
        if (preTreatment.Count > 0)
        {
            var lastInstant = preTreatment[^1].When;
            baseline = preTreatment.First(s => s.When == lastInstant); // lowest of a tie
            basis = BaselineBasis.LastBeforeFirstTreatment;
        }
        else
        {
            baseline = ordered[0]; // earliest; lowest of a tie
            basis = treatments.Count == 0 ? BaselineBasis.EarliestNoTreatmentDates : BaselineBasis.EarliestAfterTreatmentStarted;
        }

        var latest = ordered[^1]; // most recent; highest of a tie
        var hasFollowUp = latest.When > baseline.When;
        var exactChange = hasFollowUp ? PercentChange(baseline.Score, latest.Score) : null;

        var series = new List<QidsSeriesPoint>();
        for (var i = 0; i < treatments.Count; i++)
        {
            var start = treatments[i];
            var end = i + 1 < treatments.Count ? treatments[i + 1] : DateTimeOffset.MaxValue;
            var after = ordered.Where(s => s.When > start && s.When <= end).ToList();
            if (after.Count == 0)
            {
                continue;
            }

            var firstInstant = after[0].When;
            var point = after.Last(s => s.When == firstInstant); // highest of a tie
            series.Add(new QidsSeriesPoint(i + 1, start, point, Round(PercentChange(baseline.Score, point.Score), 1)));
        }

        return new QidsOutcome
        {
            BaselineScore = baseline,
            BaselineBasis = basis,
            LatestScore = latest,
            PercentChange = Round(exactChange, 1),
            Response = exactChange is { } change ? -change >= _definitions.ResponseMinPercentReduction : null,
            Remission = hasFollowUp ? latest.Score <= _definitions.RemissionMaxScore : null,
            ResponseAtAnyPoint = hasFollowUp && baseline.Score != 0
                ? ordered.Any(s => s.When > baseline.When && -PercentChange(baseline.Score, s.Score) >= _definitions.ResponseMinPercentReduction)
                : null,
            RemissionAtAnyPoint = hasFollowUp ? ordered.Any(s => s.When > baseline.When && s.Score <= _definitions.RemissionMaxScore) : null,
            Series = series,
            Count = scores.Count,
        };
    }

    private static CadssOutcome SummarizeCadss(List<AssessmentScore> scores)
    {
        if (scores.Count == 0)
        {
            return new CadssOutcome();
        }

        var latest = scores.OrderBy(s => s.When).ThenBy(s => s.Score).ThenBy(s => s.Reference, StringComparer.Ordinal).Last();
        return new CadssOutcome
        {
            Mean = Round(scores.Average(s => s.Score), 2),
            LatestScore = latest,
            Count = scores.Count,
        };
    }

    private static decimal? PercentChange(decimal baseline, decimal latest) =>
        baseline == 0 ? null : (latest - baseline) / baseline * 100m;

    private static decimal? Round(decimal? value, int decimals) =>
        value is { } v ? Math.Round(v, decimals, MidpointRounding.AwayFromZero) : null;
}
