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

    /// <summary>
    /// The route the entries name: the structured Dosage.route, else the route read from the sig text ("2 mg IV q6h",
    /// "under the tongue"; see <see cref="DailyDose.Route"/>), else the product's route; null when none is given (the
    /// outpatient assumption of oral). A route written in the sig wins over that assumption and over the product.
    /// </summary>
    public string? Route => Entries
        .Select((e, i) => e.Fact.Route ?? (i < EntryDoses.Count ? EntryDoses[i].Route : null) ?? e.Product?.Route)
        .FirstOrDefault(r => !string.IsNullOrWhiteSpace(r));
}

/// <summary>
/// Reconciles entries into therapies, so one medication course is counted once:
/// <list type="number">
/// <item>Entries linked to each other (basedOn, derivedFrom, priorPrescription; a renewal and the prescription it
/// renews, a statement and its prescription) are one therapy, whatever their kinds.</item>
/// <item>A MedicationStatement (what the patient reports) and an order (a MedicationRequest or draft order) for the same
/// ingredient are one therapy: first pairs with equal daily doses, then any remaining pair. The patient reports the
/// therapy the prescription describes; adding the two would count it twice.</item>
/// <item>Entries of the same kind that are not linked are separate therapies and add up (a scheduled and a PRN
/// clonazepam statement).</item>
/// </list>
/// When the entries of one therapy disagree, the higher known dose is counted and every entry is shown with its dose and
/// why. Double counting would raise false warnings; under-counting would hide real ones.
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
            var entries = group.Select(m => new Entry(m, calculator.Calculate(m, asOf))).ToList();

            // 1. Linked entries form one therapy (transitively).
            var therapiesOfGroup = new List<List<Entry>>();
            foreach (var entry in entries)
            {
                var joined = therapiesOfGroup.Where(t => t.Any(other => Linked(entry.Med.Fact, other.Med.Fact))).ToList();
                var merged = new List<Entry> { entry };
                foreach (var existing in joined)
                {
                    merged.AddRange(existing);
                    therapiesOfGroup.Remove(existing);
                }

                therapiesOfGroup.Add(merged);
            }

            // 2. A lone statement pairs with a lone order: equal doses first, then any.
            var loneStatements = therapiesOfGroup.Where(t => t.Count == 1 && t[0].Med.Fact.Source == MedicationSource.Statement).ToList();
            var loneOrders = therapiesOfGroup.Where(t => t.Count == 1 && t[0].Med.Fact.Source != MedicationSource.Statement).ToList();
            foreach (var pass in new[] { true, false })
            {
                foreach (var statement in loneStatements.ToList())
                {
                    var order = loneOrders.FirstOrDefault(o => !pass || SameKnownDose(statement[0].Dose, o[0].Dose));
                    if (order is null)
                    {
                        continue;
                    }

                    order.AddRange(statement);
                    therapiesOfGroup.Remove(statement);
                    loneStatements.Remove(statement);
                    loneOrders.Remove(order);
                }
            }

            therapies.AddRange(therapiesOfGroup.Select(Merge));
        }

        return therapies;
    }

    private sealed record Entry(RecognizedMedication Med, DailyDose Dose);

    private static Therapy Merge(List<Entry> entries)
    {
        // The prescription first (it names the therapy), then the reports.
        var ordered = entries.OrderBy(e => e.Med.Fact.Source == MedicationSource.Statement ? 1 : 0).ToList();
        var first = ordered[0];
        if (ordered.Count == 1)
        {
            return new Therapy(first.Med.Ingredient, [first.Med], [first.Dose], first.Dose, null);
        }

        var known = ordered.Where(e => e.Dose.MgPerDay is not null).ToList();
        var counted = known.Count > 0 ? known.MaxBy(e => e.Dose.MgPerDay!.Value)!.Dose : first.Dose;
        var allAgree = known.Count == ordered.Count && known.Select(e => e.Dose.MgPerDay).Distinct().Count() == 1;
        var note = allAgree
            ? $"{string.Join(" and ", ordered.Select(e => e.Med.Fact.Reference))} describe the same therapy and are counted once"
            : $"{string.Join("; ", ordered.Select(e => $"{e.Med.Fact.Reference} ({Describe(e.Dose)})"))} describe one therapy and disagree; " +
              (known.Count > 0 ? "the higher known dose is counted" : "no dose could be determined");
        return new Therapy(first.Med.Ingredient, ordered.Select(e => e.Med).ToList(), ordered.Select(e => e.Dose).ToList(), counted, note);
    }

    private static string Describe(DailyDose dose) =>
        dose.MgPerDay is { } mg ? $"{DailyDoseCalculator.Format(mg)} mg/day" : "dose unknown";

    private static bool Linked(MedicationFact a, MedicationFact b) =>
        a.LinkedReferences.Any(r => SameReference(r, b.Reference)) || b.LinkedReferences.Any(r => SameReference(r, a.Reference));

    private static bool SameReference(string reference, string target) =>
        reference.Equals(target, StringComparison.Ordinal) || reference.EndsWith("/" + target, StringComparison.Ordinal);

    private static bool SameKnownDose(DailyDose a, DailyDose b) => a.MgPerDay is { } x && b.MgPerDay is { } y && x == y;
}
