using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;

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
    IReadOnlySet<string>? Selections = null);

/// <summary>Operational rule settings (a site may set its own benzodiazepine threshold).</summary>
public sealed record RuleSettings(decimal? BenzodiazepineThresholdLorazepamMgPerDay = null);

/// <summary>
/// Runs the rules for one hook call: decides whether the call concerns ketamine/esketamine at all, reconciles the
/// patient's medications into therapies, and returns the findings. Pure: no I/O, no FHIR types.
/// </summary>
public sealed class CdsEvaluator(ClinicalKnowledge knowledge, MedicationClassifier classifier, DailyDoseCalculator calculator, RuleSettings settings)
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
        var findings = new List<Finding>();
        if (LamotrigineRule.Evaluate(therapies, knowledge.Thresholds) is { } lamotrigine)
        {
            findings.Add(lamotrigine);
        }

        findings.AddRange(BenzodiazepineRule.Evaluate(therapies, knowledge, settings.BenzodiazepineThresholdLorazepamMgPerDay));
        return new Evaluation(true, findings, therapies);
    }
}
