using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Clinical.Medications;

/// <summary>
/// One therapy: one or more entries (a prescription and the patient's report of it) judged to be the same
/// medication course, with the daily dose that is counted for it.
/// </summary>
public sealed record Therapy(
    Ingredient Ingredient,
    IReadOnlyList<RecognizedMedication> Entries,
    IReadOnlyList<DailyDose> EntryDoses,
    DailyDose Dose,
    string? ReconciliationNote)
{
    public RecognizedMedication Primary => Entries[0];

    public string DisplayName => Primary.Fact.DisplayName;

    /// <summary>The route the entries name (from the order or the product), lower-case; null when none is given.</summary>
    public string? Route => Entries.Select(e => e.Fact.Route ?? e.Product?.Route).FirstOrDefault(r => !string.IsNullOrWhiteSpace(r));
}

/// <summary>
/// Reconciles entries into therapies. A MedicationStatement and a MedicationRequest (or draft order) for the same
/// ingredient are one therapy when one links to the other (basedOn, derivedFrom, priorPrescription) or when their
/// daily doses match; when linked doses disagree, the higher is counted and both are shown. Entries of the same kind
/// are separate therapies and add up (a scheduled and a PRN clonazepam statement). Double counting would raise false
/// warnings; under-counting would hide real ones.
/// </summary>
public static class TherapyReconciler
{
    public static IReadOnlyList<Therapy> Reconcile(IEnumerable<RecognizedMedication> medications, DailyDoseCalculator calculator, DateTimeOffset? asOf = null)
    {
        ArgumentNullException.ThrowIfNull(medications);
        ArgumentNullException.ThrowIfNull(calculator);
        var therapies = new List<Therapy>();
        foreach (var group in medications.GroupBy(m => m.Ingredient.Code, StringComparer.Ordinal))
        {
            var entries = group.Select(m => (Med: m, Dose: calculator.Calculate(m, asOf))).ToList();
            var statements = entries.Where(e => e.Med.Fact.Source == MedicationSource.Statement).ToList();
            var orders = entries.Where(e => e.Med.Fact.Source != MedicationSource.Statement).ToList();
            var used = new HashSet<RecognizedMedication>();

            foreach (var statement in statements)
            {
                var match = orders.FirstOrDefault(o => !used.Contains(o.Med) && Linked(statement.Med.Fact, o.Med.Fact))
                    is { Med: not null } linked
                    ? linked
                    : orders.FirstOrDefault(o => !used.Contains(o.Med) && SameKnownDose(statement.Dose, o.Dose));
                if (match.Med is null)
                {
                    continue;
                }

                used.Add(statement.Med);
                used.Add(match.Med);
                therapies.Add(Merge(match, statement));
            }

            therapies.AddRange(entries.Where(e => !used.Contains(e.Med))
                .Select(e => new Therapy(e.Med.Ingredient, [e.Med], [e.Dose], e.Dose, null)));
        }

        return therapies;
    }

    private static Therapy Merge((RecognizedMedication Med, DailyDose Dose) order, (RecognizedMedication Med, DailyDose Dose) statement)
    {
        var orderMg = order.Dose.MgPerDay;
        var statementMg = statement.Dose.MgPerDay;
        string note;
        DailyDose counted;
        if (orderMg == statementMg)
        {
            counted = order.Dose;
            note = $"{order.Med.Fact.Reference} and {statement.Med.Fact.Reference} describe the same therapy and are counted once";
        }
        else if (orderMg is null || (statementMg is not null && statementMg > orderMg))
        {
            counted = statementMg is null ? order.Dose : statement.Dose;
            note = Disagreement(order, statement);
        }
        else
        {
            counted = order.Dose;
            note = Disagreement(order, statement);
        }

        return new Therapy(order.Med.Ingredient, [order.Med, statement.Med], [order.Dose, statement.Dose], counted, note);
    }

    private static string Disagreement((RecognizedMedication Med, DailyDose Dose) order, (RecognizedMedication Med, DailyDose Dose) statement) =>
        $"{order.Med.Fact.Reference} ({Describe(order.Dose)}) and the linked {statement.Med.Fact.Reference} ({Describe(statement.Dose)}) " +
        "disagree; the higher known dose is counted";

    private static string Describe(DailyDose dose) =>
        dose.MgPerDay is { } mg ? $"{DailyDoseCalculator.Format(mg)} mg/day" : "dose unknown";

    private static bool Linked(MedicationFact a, MedicationFact b) =>
        a.LinkedReferences.Any(r => SameReference(r, b.Reference)) || b.LinkedReferences.Any(r => SameReference(r, a.Reference));

    private static bool SameReference(string reference, string target) =>
        reference.Equals(target, StringComparison.Ordinal) || reference.EndsWith("/" + target, StringComparison.Ordinal);

    private static bool SameKnownDose(DailyDose a, DailyDose b) => a.MgPerDay is { } x && b.MgPerDay is { } y && x == y;
}
