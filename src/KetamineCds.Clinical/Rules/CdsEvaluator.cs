using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;

namespace KetamineCds.Clinical.Rules;

/// <summary>The hooks we answer; the trigger differs, the rules do not.</summary>
public enum HookKind
{
    OrderSelect,
    OrderSign,
    PatientView,
}

/// <summary>The patient's data as plain facts, gathered by the FHIR edge from prefetch or the FHIR server.</summary>
/// <param name="Medications">The patient's MedicationStatements and MedicationRequests.</param>
/// <param name="DraftOrders">The hook's draftOrders (being ordered now; they count as current therapy too).</param>
/// <param name="Selections">For order-select: the references of the orders just selected; null means all.</param>
public sealed record PatientData(
    IReadOnlyList<MedicationFact> Medications,
    IReadOnlyList<MedicationFact> DraftOrders,
    IReadOnlySet<string>? Selections = null)
{
    /// <summary>QIDS-SR/CADSS totals read (and validated) by the FHIR edge; null when observations were not available.</summary>
    public AssessmentData? Assessments { get; init; }
}

/// <summary>Assessment totals, and the observations left out with the reason.</summary>
public sealed record AssessmentData(IReadOnlyList<AssessmentScore> Scores, IReadOnlyList<ExcludedScore> Excluded);

/// <summary>Operational rule settings (a site may set its own benzodiazepine threshold).</summary>
public sealed record RuleSettings(decimal? BenzodiazepineThresholdLorazepamMgPerDay = null);

/// <summary>
/// Runs the rules for one hook call: decides whether the call concerns ketamine/esketamine at all, reconciles the
/// patient's medications into therapies, and returns the findings. Pure: no I/O, no FHIR types.
/// </summary>
public sealed class CdsEvaluator(
    ClinicalKnowledge knowledge,
    MedicationClassifier classifier,
    DailyDoseCalculator calculator,
    RuleSettings settings,
    OutcomeCalculator outcomes)
{
    public Evaluation Evaluate(HookKind hook, PatientData data, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(data);
        var current = data.Medications
            .Concat(data.DraftOrders)
            .Where(m => MedicationStatusPolicy.IsCurrent(m, now))
            .Select(classifier.Classify)
            .OfType<RecognizedMedication>()
            .ToList();

        var triggered = hook switch
        {
            HookKind.PatientView => current.Any(m => m.Ingredient.Class == DrugClass.Ketamine),
            _ => data.DraftOrders
                .Where(o => data.Selections is null || data.Selections.Contains(o.Reference))
                .Select(classifier.Classify)
                .Any(m => m?.Ingredient.Class == DrugClass.Ketamine),
        };
        if (!triggered)
        {
            return new Evaluation(false, [], []);
        }

        var therapies = TherapyReconciler.Reconcile(current.Where(m => m.Ingredient.Class != DrugClass.Ketamine), calculator, now);
        var summary = data.Assessments is { } assessments
            ? outcomes.Summarize(assessments.Scores, TreatmentStarts(current), assessments.Excluded)
            : null;

        var findings = new List<Finding>();
        if (LamotrigineRule.Evaluate(therapies, knowledge.Thresholds) is { } lamotrigine)
        {
            findings.Add(lamotrigine with { Outcomes = summary });
        }

        findings.AddRange(BenzodiazepineRule.Evaluate(therapies, knowledge, settings.BenzodiazepineThresholdLorazepamMgPerDay));
        if (hook == HookKind.PatientView && summary is not null && (summary.HasScores || summary.ExcludedCount > 0))
        {
            findings.Add(new KetamineCourseFinding(summary));
        }

        return new Evaluation(true, findings, therapies);
    }

    /// <summary>
    /// When the ketamine/esketamine course began, as far as the medication list tells (statement effective start, request
    /// authoredOn). Administrations are not prefetched, so each treatment's date is not known; the baseline is the last
    /// score before the course began.
    /// </summary>
    private static IEnumerable<DateTimeOffset> TreatmentStarts(IEnumerable<RecognizedMedication> current)
    {
        var starts = current
            .Where(m => m.Ingredient.Class == DrugClass.Ketamine && m.Fact.Source != MedicationSource.DraftOrder)
            .Select(m => m.Fact.EffectiveStart)
            .OfType<DateTimeOffset>()
            .ToList();
        return starts.Count == 0 ? [] : [starts.Min()];
    }
}
