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
/// <item>Response and remission are given twice: on the latest score, and at any point after the baseline (the article
/// counts remission reached "at some point during the induction phase", Results 3.2).</item>
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
        var qidsScores = new List<AssessmentScore>();
        var cadssScores = new List<AssessmentScore>();
        foreach (var score in scores)
        {
            var range = _definitions.RangeFor(score.Kind);
            if (range.Contains(score.Score))
            {
                if (score.Kind == AssessmentKind.QidsSr16)
                {
                    qidsScores.Add(score);
                }
                else if (score.Kind == AssessmentKind.Cadss)
                {
                    cadssScores.Add(score);
                }
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

        // Distinct instants, in order (the same instant in two offsets is one treatment).
        var treatments = new List<DateTimeOffset>();
        foreach (var date in treatmentDates)
        {
            if (!treatments.Contains(date))
            {
                treatments.Add(date);
            }
        }

        treatments.Sort();
        var qids = SummarizeQids(qidsScores, treatments);
        var cadss = SummarizeCadss(cadssScores);
        return new OutcomeSummary(qids, cadss, excluded);
    }

    private QidsOutcome SummarizeQids(List<AssessmentScore> scores, List<DateTimeOffset> treatments)
    {
        if (scores.Count == 0)
        {
            return new QidsOutcome();
        }

        // Ordered by time, and within one instant by score, so "first/lowest" and "last/highest" are unambiguous.
        var ordered = Ordered(scores);

        AssessmentScore baseline;
        BaselineBasis basis;
        // The scores at or before the first treatment are a prefix of the ordered scores.
        var preTreatment = 0;
        while (treatments.Count > 0 && preTreatment < ordered.Length && ordered[preTreatment].When <= treatments[0])
        {
            preTreatment++;
        }

        if (preTreatment > 0)
        {
            var lastInstant = ordered[preTreatment - 1].When;
            baseline = ordered[FirstAt(ordered, lastInstant, 0)]; // lowest of a tie
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
            var first = 0;
            while (first < ordered.Length && ordered[first].When <= start)
            {
                first++;
            }

            if (first == ordered.Length || ordered[first].When > end)
            {
                continue;
            }

            var point = ordered[LastAt(ordered, first)]; // highest of a tie
            series.Add(new QidsSeriesPoint(i + 1, start, point, Round(PercentChange(baseline.Score, point.Score), 1)));
        }

        // "At any point": the article counts remission reached "at some point during the induction phase" (Results 3.2),
        // so every score after the baseline is judged, not only the latest. Within one instant the HIGHER score is
        // taken (as for the latest), so a tie never overstates.
        AssessmentScore? firstResponse = null;
        AssessmentScore? firstRemission = null;
        for (var i = 0; i < ordered.Length; i++)
        {
            if (ordered[i].When <= baseline.When)
            {
                continue;
            }

            i = LastAt(ordered, i);
            var s = ordered[i];
            if (firstResponse is null && baseline.Score != 0 && -PercentChange(baseline.Score, s.Score)!.Value >= _definitions.ResponseMinPercentReduction)
            {
                firstResponse = s;
            }

            if (firstRemission is null && s.Score <= _definitions.RemissionMaxScore)
            {
                firstRemission = s;
            }
        }

        return new QidsOutcome
        {
            ResponseAtAnyPoint = hasFollowUp && baseline.Score != 0 ? firstResponse is not null : null,
            RemissionAtAnyPoint = hasFollowUp ? firstRemission is not null : null,
            FirstResponse = firstResponse,
            FirstRemission = firstRemission,
            BaselineScore = baseline,
            BaselineBasis = basis,
            LatestScore = latest,
            PercentChange = Round(exactChange, 1),
            Response = exactChange is { } change ? -change >= _definitions.ResponseMinPercentReduction : null,
            Remission = hasFollowUp ? latest.Score <= _definitions.RemissionMaxScore : null,
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

        // The last in (time, score, reference) order; of equal keys the one given last, as a stable sort would leave it.
        var latest = scores[0];
        decimal sum = 0;
        foreach (var s in scores)
        {
            if (Compare(s, latest) >= 0)
            {
                latest = s;
            }

            sum += s.Score;
        }

        return new CadssOutcome
        {
            Mean = Round(sum / scores.Count, 2),
            LatestScore = latest,
            Count = scores.Count,
        };
    }

    /// <summary>By time, then score, then reference (ordinal); of equal keys, the order given (a stable sort).</summary>
    private static AssessmentScore[] Ordered(List<AssessmentScore> scores)
    {
        var keyed = new (AssessmentScore Score, int Index)[scores.Count];
        for (var i = 0; i < keyed.Length; i++)
        {
            keyed[i] = (scores[i], i);
        }

        Array.Sort(keyed, static (a, b) => Compare(a.Score, b.Score) is var c && c != 0 ? c : a.Index.CompareTo(b.Index));
        var ordered = new AssessmentScore[keyed.Length];
        for (var i = 0; i < keyed.Length; i++)
        {
            ordered[i] = keyed[i].Score;
        }

        return ordered;
    }

    private static int Compare(AssessmentScore a, AssessmentScore b)
    {
        var byTime = a.When.CompareTo(b.When);
        if (byTime != 0)
        {
            return byTime;
        }

        var byScore = a.Score.CompareTo(b.Score);
        return byScore != 0 ? byScore : string.CompareOrdinal(a.Reference, b.Reference);
    }

    /// <summary>The first index at or after <paramref name="from"/> whose instant is <paramref name="instant"/>.</summary>
    private static int FirstAt(AssessmentScore[] ordered, DateTimeOffset instant, int from)
    {
        var i = from;
        while (ordered[i].When != instant)
        {
            i++;
        }

        return i;
    }

    /// <summary>The last index of the run of scores at the same instant as <paramref name="at"/>.</summary>
    private static int LastAt(AssessmentScore[] ordered, int at)
    {
        var i = at;
        while (i + 1 < ordered.Length && ordered[i + 1].When == ordered[at].When)
        {
            i++;
        }

        return i;
    }

    private static decimal? PercentChange(decimal baseline, decimal latest) =>
        baseline == 0 ? null : (latest - baseline) / baseline * 100m;

    private static decimal? Round(decimal? value, int decimals) =>
        value is { } v ? Math.Round(v, decimals, MidpointRounding.AwayFromZero) : null;
}
