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

        // The current entries, recognized (the record's, then the draft orders), and the ketamine the call concerns: the
        // selected draft orders at order-select/order-sign, the current ketamine medications at patient-view. Its
        // ingredient (esketamine or racemic ketamine) decides the route-specific evidence. Each entry is classified once.
        var current = new List<RecognizedMedication>(data.Medications.Count + data.DraftOrders.Count);
        foreach (var medication in data.Medications)
        {
            if (MedicationStatusPolicy.IsCurrent(medication, now) && classifier.Classify(medication) is { } recognized)
            {
                current.Add(recognized);
            }
        }

        var ketamine = new List<RecognizedMedication>();
        foreach (var order in data.DraftOrders)
        {
            var isCurrent = MedicationStatusPolicy.IsCurrent(order, now);
            var concerned = hook != HookKind.PatientView && (data.Selections is null || data.Selections.Contains(order.Reference));
            if ((isCurrent || concerned) && classifier.Classify(order) is { } recognized)
            {
                if (isCurrent)
                {
                    current.Add(recognized);
                }

                if (concerned && recognized.Ingredient.Class == DrugClass.Ketamine)
                {
                    ketamine.Add(recognized);
                }
            }
        }

        var others = new List<RecognizedMedication>(current.Count);
        var ketamineEntries = new List<RecognizedMedication>();
        foreach (var m in current)
        {
            (m.Ingredient.Class == DrugClass.Ketamine ? ketamineEntries : others).Add(m);
        }

        if (hook == HookKind.PatientView)
        {
            ketamine = ketamineEntries;
        }

        var triggered = ketamine.Count > 0;
        if (!triggered)
        {
            return new Evaluation(false, [], []);
        }

        var therapies = TherapyReconciler.Reconcile(others, calculator, now);
        var treatmentDates = TreatmentDates(ketamineEntries, data.Assessments?.Scores ?? []);
        var summary = data.Assessments is { } assessments
            ? outcomes.Summarize(assessments.Scores, treatmentDates, assessments.Excluded)
            : null;

        var benzodiazepines = BenzodiazepineRule.Assess(therapies, knowledge, settings.BenzodiazepineThresholdLorazepamMgPerDay);
        var showCourse = hook == HookKind.PatientView && summary is not null && (summary.HasScores || summary.ExcludedCount > 0);
        var findings = new List<Finding>();
        if (LamotrigineRule.Evaluate(therapies, knowledge.Thresholds) is { } lamotrigine)
        {
            findings.Add(lamotrigine with
            {
                Outcomes = summary,
                Ketamine = FormOf(ketamine),
                Benzodiazepines = benzodiazepines,
                CourseShownSeparately = showCourse,
            });
        }

        findings.AddRange(BenzodiazepineRule.Evaluate(benzodiazepines, showBelowThreshold: hook == HookKind.PatientView));
        if (showCourse)
        {
            findings.Add(new KetamineCourseFinding(summary!) { Benzodiazepines = benzodiazepines });
        }

        return new Evaluation(true, findings, therapies)
        {
            KetamineEntries = ketamineEntries,
            TreatmentDates = treatmentDates,
            Outcomes = summary,
        };
    }

    private static KetamineForm FormOf(IEnumerable<RecognizedMedication> ketamine)
    {
        var esketamine = false;
        var racemic = false;
        foreach (var m in ketamine)
        {
            if (m.Ingredient.Code == IngredientCodes.Esketamine)
            {
                esketamine = true;
            }
            else
            {
                racemic = true;
            }
        }

        return (esketamine, racemic) switch
        {
            (true, true) => KetamineForm.Both,
            (true, false) => KetamineForm.Esketamine,
            (false, true) => KetamineForm.RacemicKetamine,
            _ => KetamineForm.Unknown,
        };
    }

    /// <summary>
    /// The ketamine/esketamine treatment dates, as far as the data tell. Administrations are not prefetched, so they are
    /// inferred: the CADSS is clinician-administered at each treatment session (Joseph et al. 2023, Methods 2.1), so each
    /// day with a CADSS total is a treatment day (its earliest CADSS time); the course start (statement effective start,
    /// request authoredOn) is a treatment day too when no CADSS falls on it.
    /// </summary>
    private static List<DateTimeOffset> TreatmentDates(List<RecognizedMedication> ketamine, IReadOnlyList<AssessmentScore> scores)
    {
        // Each UTC day with a CADSS total, at its earliest CADSS time (the first of equal instants).
        var days = new List<DateTimeOffset>();
        foreach (var score in scores)
        {
            if (score.Kind != AssessmentKind.Cadss)
            {
                continue;
            }

            var at = DayIndex(days, score.When);
            if (at < 0)
            {
                days.Add(score.When);
            }
            else if (score.When < days[at])
            {
                days[at] = score.When;
            }
        }

        // The earliest course start of a recorded (not draft) ketamine entry.
        DateTimeOffset courseStart = default;
        var any = false;
        foreach (var m in ketamine)
        {
            if (m.Fact.Source != MedicationSource.DraftOrder && m.Fact.EffectiveStart is { } start && (!any || start < courseStart))
            {
                (courseStart, any) = (start, true);
            }
        }

        if (courseStart != default && DayIndex(days, courseStart) < 0)
        {
            days.Add(courseStart);
        }

        // Every day's instant is distinct (one per UTC date), so the order is the order of the instants.
        days.Sort();
        return days;
    }

    private static int DayIndex(List<DateTimeOffset> days, DateTimeOffset when)
    {
        var date = when.UtcDateTime.Date;
        for (var i = 0; i < days.Count; i++)
        {
            if (days[i].UtcDateTime.Date == date)
            {
                return i;
            }
        }

        return -1;
    }
}
