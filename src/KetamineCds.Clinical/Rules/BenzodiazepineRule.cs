using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Rules;

/// <summary>
/// Benzodiazepines in lorazepam equivalents under both tables (primary Ashton, alternate VA/DoD 2021). The study
/// required less than 4 mg/day before ketamine because high doses may blunt its effect (Frye et al. 2015).
/// A benzodiazepine that is recognized but cannot be counted (dose unknown, non-oral route, no oral equivalence) is
/// named on its own card: never counted as zero in silence. On patient-view a total below the threshold is shown too
/// (<see cref="FindingCodes.BenzodiazepineBelowThreshold"/>), so "counted and below 4" can be told from "not recognized";
/// at order-select/order-sign it adds no card (alert fatigue) and is listed on the cards that are shown.
/// </summary>
public static class BenzodiazepineRule
{
    public static IReadOnlyList<BenzodiazepineFinding> Evaluate(
        IReadOnlyList<Therapy> therapies,
        ClinicalKnowledge knowledge,
        decimal? siteThresholdMgPerDay = null,
        bool showBelowThreshold = false) =>
        Evaluate(Assess(therapies, knowledge, siteThresholdMgPerDay), showBelowThreshold);

    /// <param name="assessment">The calculation (see <see cref="Assess"/>); null when the patient takes no benzodiazepine.</param>
    /// <param name="showBelowThreshold">patient-view: a counted total below the threshold gets its own low-key finding.</param>
    public static IReadOnlyList<BenzodiazepineFinding> Evaluate(BenzodiazepineAssessment? assessment, bool showBelowThreshold)
    {
        if (assessment is null)
        {
            return [];
        }

        var findings = new List<BenzodiazepineFinding>();
        if (Reaches(assessment.TotalPrimary, assessment.ThresholdMgPerDay, assessment.ThresholdInclusive))
        {
            findings.Add(new BenzodiazepineFinding(FindingCodes.BenzodiazepineThreshold, assessment));
        }
        else if (Reaches(assessment.TotalAlternate, assessment.ThresholdMgPerDay, assessment.ThresholdInclusive))
        {
            findings.Add(new BenzodiazepineFinding(FindingCodes.BenzodiazepineBorderline, assessment));
        }

        if (assessment.NotCountedBenzodiazepines.Any())
        {
            findings.Add(new BenzodiazepineFinding(FindingCodes.BenzodiazepineDoseUnknown, assessment));
        }

        // The dose-unknown card already carries the table of what was counted; the below-threshold card is for the chart
        // where nothing else says that the benzodiazepines were seen and counted.
        if (showBelowThreshold && findings.Count == 0 && assessment.Counted.Any(l => l.Therapy.Ingredient.Class == DrugClass.Benzodiazepine))
        {
            findings.Add(new BenzodiazepineFinding(FindingCodes.BenzodiazepineBelowThreshold, assessment));
        }

        return findings;
    }

    /// <summary>The calculation table and totals under both tables; null when the patient takes no benzodiazepine.</summary>
    public static BenzodiazepineAssessment? Assess(
        IReadOnlyList<Therapy> therapies,
        ClinicalKnowledge knowledge,
        decimal? siteThresholdMgPerDay = null)
    {
        ArgumentNullException.ThrowIfNull(therapies);
        ArgumentNullException.ThrowIfNull(knowledge);
        List<BenzodiazepineLine>? lines = null;
        foreach (var t in therapies)
        {
            if (t.Ingredient.Class == DrugClass.Benzodiazepine)
            {
                (lines ??= new List<BenzodiazepineLine>(therapies.Count)).Add(Line(t, knowledge));
            }
        }

        if (lines is null)
        {
            return null;
        }

        // Z-drugs are not benzodiazepines and are never added, but a clinician reading the table should see them.
        foreach (var t in therapies)
        {
            if (t.Ingredient.Class == DrugClass.ZDrug)
            {
                lines.Add(new BenzodiazepineLine(t, t.Dose.MgPerDay, null, null, false, null, null,
                    "not a benzodiazepine (Z-drug); not added to the total", NotCountedKind.NotABenzodiazepine));
            }
        }

        decimal sumPrimary = 0, sumAlternate = 0;
        foreach (var l in lines)
        {
            if (l.Counted)
            {
                sumPrimary += l.LorazepamEquivalentMgPerDay!.Value;
                sumAlternate += l.LorazepamEquivalentMgPerDayAlternate!.Value;
            }
        }

        var totalPrimary = DailyDoseCalculator.Round(sumPrimary);
        var totalAlternate = DailyDoseCalculator.Round(sumAlternate);
        var threshold = siteThresholdMgPerDay ?? knowledge.Thresholds.BenzodiazepineLorazepamMgPerDay;
        var inclusive = knowledge.Thresholds.BenzodiazepineInclusive;
        return new BenzodiazepineAssessment(lines, totalPrimary, totalAlternate, threshold, inclusive, siteThresholdMgPerDay is not null);
    }

    private static bool Reaches(decimal total, decimal threshold, bool inclusive) => inclusive ? total >= threshold : total > threshold;

    private static BenzodiazepineLine Line(Therapy therapy, ClinicalKnowledge knowledge)
    {
        var primary = knowledge.PrimaryEquivalence.For(therapy.Ingredient.Code);
        var alternate = knowledge.AlternateEquivalence.For(therapy.Ingredient.Code);
        var mg = therapy.Dose.MgPerDay;
        (NotCountedKind Kind, string Text)? reason = null;
        if (!RouteClassifier.IsOral(therapy.Route))
        {
            reason = (NotCountedKind.NotOral, $"route \"{therapy.Route}\" is not oral; the equivalence tables are for oral doses");
        }
        else if (primary is null)
        {
            reason = (NotCountedKind.NoEquivalence, "no oral lorazepam equivalence is given for this drug");
        }
        else if (mg is null)
        {
            reason = (NotCountedKind.DoseUnknown, $"dose could not be determined: {therapy.Dose.UnknownReason}");
        }

        if (reason is { } r)
        {
            return new BenzodiazepineLine(therapy, mg, primary?.EquivalentMg, alternate?.EquivalentMg, false, null, null, r.Text, r.Kind);
        }

        var alternateFactor = alternate?.EquivalentMg ?? primary!.EquivalentMg;
        return new BenzodiazepineLine(
            therapy,
            mg,
            primary!.EquivalentMg,
            alternateFactor,
            alternate is null,
            DailyDoseCalculator.Round(mg!.Value / primary.EquivalentMg),
            DailyDoseCalculator.Round(mg.Value / alternateFactor),
            null);
    }
}
