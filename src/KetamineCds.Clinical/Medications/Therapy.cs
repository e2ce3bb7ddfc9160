using System.Globalization;
using System.Text.RegularExpressions;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Clinical.Medications;

/// <summary>
/// One therapy: one or more entries (a prescription and the patient's report of it, or copies of one record) judged
/// to be the same medication course, with the daily dose that is counted for it.
/// </summary>
public sealed record Therapy(
    Ingredient Ingredient,
    IReadOnlyList<RecognizedMedication> Entries,
    IReadOnlyList<DailyDose> EntryDoses,
    DailyDose Dose,
    string? ReconciliationNote)
{
    public RecognizedMedication Primary => Entries[0];

    /// <summary>
    /// The name a clinician reads: the first entry's own text or display; for entries known only by a code, the
    /// product's name and strength from its supplement (RxNorm or SNOMED CT), else the ingredient's name. Never a bare code.
    /// </summary>
    public string DisplayName =>
        Entries.Select(e => e.Fact.Name).FirstOrDefault(n => n is not null)
        ?? Entries.Select(e => e.Product?.Display).FirstOrDefault(d => !string.IsNullOrWhiteSpace(d))
        ?? Ingredient.Name;

    /// <summary>True when another therapy of the same ingredient runs alongside this one (a different dose or
    /// schedule, e.g. scheduled and as needed): each is counted, and the note says so.</summary>
    public bool Concurrent { get; init; }

    /// <summary>How many entries were recognized as copies of one record (same dose, timing and dates) and counted once; 0 when none.</summary>
    public int DuplicateEntries { get; init; }

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
/// <item>Entries that record the same therapy (same ingredient, same daily dose and the same dosage lines: dose,
/// timing, as-needed, route; and dates that overlap) are one therapy, whatever their ids or resource types: EHR
/// medication lists often hold the same MedicationStatement twice (issue 7: a chart went from 13.75 to 59.5 mg/day
/// lorazepam equivalents as copies were added). Entries without any date cannot be shown to overlap and are not merged
/// by this rule; the note says so.</item>
/// <item>A MedicationStatement (what the patient reports) and an order (a MedicationRequest or draft order) for the same
/// ingredient are one therapy: first pairs with equal daily doses, then any remaining pair, except a scheduled one with
/// an as-needed one (those are two therapies). The patient reports the therapy the prescription describes; adding the
/// two would count it twice.</item>
/// <item>Any other entries of the same ingredient are concurrent therapies (different doses or schedules, e.g. a
/// scheduled and a PRN clonazepam): they add up, and each says it is concurrent.</item>
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
            var entries = group.Select(m => new Entry(m, calculator.Calculate(m, asOf), DosageSignature.Of(m.Fact))).ToList();

            // 1. Linked entries form one therapy (transitively).
            var groups = new List<List<Entry>>();
            foreach (var entry in entries)
            {
                JoinInto(groups, entry, other => Linked(entry.Med.Fact, other.Med.Fact));
            }

            // 2. Copies of one record form one therapy (transitively, across kinds).
            var duplicates = new HashSet<Entry>();
            for (var changed = true; changed;)
            {
                changed = false;
                foreach (var therapy in groups.ToList())
                {
                    var copies = groups.Where(other => other != therapy && therapy.Any(a => other.Any(b => SameRecordedTherapy(a, b)))).ToList();
                    if (copies.Count == 0 || !groups.Contains(therapy))
                    {
                        continue;
                    }

                    foreach (var copy in copies)
                    {
                        duplicates.UnionWith(copy.Where(b => therapy.Any(a => SameRecordedTherapy(a, b))));
                        duplicates.UnionWith(therapy.Where(a => copy.Any(b => SameRecordedTherapy(a, b))));
                        therapy.AddRange(copy);
                        groups.Remove(copy);
                    }

                    changed = true;
                }
            }

            // 3. A group of reports pairs with a group of orders: equal doses first, then any (not scheduled with as needed).
            var reports = groups.Where(t => t.All(e => e.Med.Fact.Source == MedicationSource.Statement)).ToList();
            var orders = groups.Where(t => t.All(e => e.Med.Fact.Source != MedicationSource.Statement)).ToList();
            foreach (var sameDoseOnly in new[] { true, false })
            {
                foreach (var report in reports.ToList())
                {
                    var order = orders.FirstOrDefault(o => sameDoseOnly
                        ? SameKnownDose(Counted(report), Counted(o))
                        : AsNeeded(report) == AsNeeded(o));
                    if (order is null)
                    {
                        continue;
                    }

                    order.AddRange(report);
                    groups.Remove(report);
                    reports.Remove(report);
                    orders.Remove(order);
                }
            }

            // 4. What remains of this ingredient is concurrent: each therapy is counted and says so.
            var merged = groups.Select(g => Merge(g, duplicates)).ToList();
            if (merged.Count > 1)
            {
                merged = merged.Select(t => t with
                {
                    Concurrent = true,
                    ReconciliationNote = Join(t.ReconciliationNote, ConcurrentNote(t, merged)),
                }).ToList();
            }

            therapies.AddRange(merged);
        }

        return therapies;
    }

    private sealed record Entry(RecognizedMedication Med, DailyDose Dose, string Signature);

    private static void JoinInto(List<List<Entry>> groups, Entry entry, Func<Entry, bool> belongs)
    {
        var joined = groups.Where(t => t.Any(belongs)).ToList();
        var merged = new List<Entry> { entry };
        foreach (var existing in joined)
        {
            merged.AddRange(existing);
            groups.Remove(existing);
        }

        groups.Add(merged);
    }

    private static Therapy Merge(List<Entry> entries, HashSet<Entry> duplicates)
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
        var allAgree = ordered.Select(e => e.Dose.MgPerDay).Distinct().Count() == 1;
        var copies = ordered.Count(duplicates.Contains);
        // No FHIR ids in the note: it is clinician text (the ids stay in the card's extension).
        var note = !allAgree
            ? $"{string.Join("; ", ordered.Select(e => $"{Kind(e.Med.Fact.Source)} ({Describe(e.Dose)})"))} describe one therapy and disagree; " +
              (known.Count > 0 ? "the higher known dose is counted" : "no dose could be determined")
            : copies > 0
                ? $"{Kinds(ordered)} record the same therapy (same dose, timing and dates) and are counted once"
                : $"{Kinds(ordered)} describe the same therapy and are counted once";

        return new Therapy(first.Med.Ingredient, ordered.Select(e => e.Med).ToList(), ordered.Select(e => e.Dose).ToList(), counted, note)
        {
            DuplicateEntries = copies,
        };
    }

    private static string ConcurrentNote(Therapy therapy, List<Therapy> all)
    {
        var others = all.Count - 1;
        var sameRecord = all.Where(t => t != therapy).Any(t => t.Entries.Any(a => therapy.Entries.Any(b =>
            DosageSignature.Of(a.Fact) == DosageSignature.Of(b.Fact) && !HasDates(a.Fact) && !HasDates(b.Fact))));
        var name = therapy.Ingredient.Name;
        return sameRecord
            ? $"the same dose and timing as {Count(others, "other " + name + " entry", "other " + name + " entries")}, but no dates show whether they are one therapy recorded twice; each is counted"
            : $"concurrent with {Count(others, "other " + name + " therapy", "other " + name + " therapies")} of a different dose or schedule " +
              $"({string.Join("; ", all.Where(t => t != therapy).Select(DescribeTherapy))}); each is counted";
    }

    /// <summary>"1 mg/day", "up to 0.5 mg/day, as needed", "dose unknown": tells concurrent therapies apart on the card.</summary>
    private static string DescribeTherapy(Therapy therapy)
    {
        var asNeeded = therapy.Entries.Any(e => e.Fact.Dosages.Any(d => d.AsNeeded)) || therapy.Dose.Derivations.Contains(DoseDerivation.PrnMaximum);
        var dose = therapy.Dose.MgPerDay is { } mg ? $"{(therapy.Dose.IsUpTo ? "up to " : "")}{DailyDoseCalculator.Format(mg)} mg/day" : "dose unknown";
        return asNeeded ? $"{dose}, as needed" : dose;
    }

    private static string Count(int n, string one, string many) => n == 1 ? $"1 {one}" : $"{n.ToString(CultureInfo.InvariantCulture)} {many}";

    private static string? Join(string? a, string b) => string.IsNullOrEmpty(a) ? b : $"{a}; {b}";

    private static string Kind(MedicationSource source) => source switch
    {
        MedicationSource.Statement => "a medication statement",
        MedicationSource.DraftOrder => "the order being placed",
        _ => "a prescription",
    };

    /// <summary>"2 medication statements and a prescription", for the note (which follows a semicolon on the card).</summary>
    private static string Kinds(List<Entry> entries)
    {
        var statements = entries.Count(e => e.Med.Fact.Source == MedicationSource.Statement);
        var requests = entries.Count(e => e.Med.Fact.Source == MedicationSource.Request);
        var drafts = entries.Count(e => e.Med.Fact.Source == MedicationSource.DraftOrder);
        var parts = new List<string>();
        if (statements > 0)
        {
            parts.Add(statements == 1 ? "a medication statement" : $"{statements} medication statements");
        }

        if (requests > 0)
        {
            parts.Add(requests == 1 ? "a prescription" : $"{requests} prescriptions");
        }

        if (drafts > 0)
        {
            parts.Add("the order being placed");
        }

        return string.Join(" and ", parts);
    }

    private static string Describe(DailyDose dose) =>
        dose.MgPerDay is { } mg ? $"{DailyDoseCalculator.Format(mg)} mg/day" : "dose unknown";

    private static bool Linked(MedicationFact a, MedicationFact b) =>
        a.LinkedReferences.Any(r => SameReference(r, b.Reference)) || b.LinkedReferences.Any(r => SameReference(r, a.Reference));

    private static bool SameReference(string reference, string target) =>
        reference.Equals(target, StringComparison.Ordinal) || reference.EndsWith("/" + target, StringComparison.Ordinal);

    private static bool SameKnownDose(DailyDose a, DailyDose b) => a.MgPerDay is { } x && b.MgPerDay is { } y && x == y;

    private static DailyDose Counted(List<Entry> group) =>
        group.Where(e => e.Dose.MgPerDay is not null).MaxBy(e => e.Dose.MgPerDay!.Value)?.Dose ?? group[0].Dose;

    /// <summary>As needed: a PRN dosage line, or a dose counted at a PRN maximum (also from text sigs).</summary>
    private static bool AsNeeded(List<Entry> group) =>
        group.Any(e => e.Med.Fact.Dosages.Any(d => d.AsNeeded) || e.Dose.Derivations.Contains(DoseDerivation.PrnMaximum));

    /// <summary>
    /// The same therapy recorded twice: same daily dose (both known and equal, or both unknown), the same dosage lines
    /// and route, and effective dates that overlap (each entry must have at least one date).
    /// </summary>
    private static bool SameRecordedTherapy(Entry a, Entry b) =>
        a.Dose.MgPerDay == b.Dose.MgPerDay
        && a.Dose.ScheduledMgPerDay == b.Dose.ScheduledMgPerDay
        && a.Signature == b.Signature
        && HasDates(a.Med.Fact) && HasDates(b.Med.Fact)
        && Overlap(a.Med.Fact, b.Med.Fact);

    private static bool HasDates(MedicationFact fact) => fact.EffectiveStart is not null || fact.EffectiveEnd is not null;

    private static bool Overlap(MedicationFact a, MedicationFact b) =>
        (a.EffectiveStart ?? DateTimeOffset.MinValue) <= (b.EffectiveEnd ?? DateTimeOffset.MaxValue)
        && (b.EffectiveStart ?? DateTimeOffset.MinValue) <= (a.EffectiveEnd ?? DateTimeOffset.MaxValue);
}

/// <summary>
/// A comparable summary of an entry's dosage lines and route: structured dose, range, timing, as-needed, maxima;
/// the sig text only for a line with neither a structured dose nor a structured timing (then the text is all there is).
/// Two entries with the same signature give the same medication the same way.
/// </summary>
internal static partial class DosageSignature
{
    public static string Of(MedicationFact fact)
    {
        var lines = fact.Dosages.Select(Line).Order(StringComparer.Ordinal);
        return $"route={Normalize(fact.Route)}|{string.Join("||", lines)}";
    }

    private static string Line(DosageFact d)
    {
        var t = d.Timing;
        var timing = t is null
            ? ""
            : string.Join(",", t.Frequency, t.FrequencyMax, Number(t.Period), Number(t.PeriodMax), t.PeriodUnit, t.WhenCount, t.TimeOfDayCount,
                t.EventCount, string.Join("+", t.Codes.Select(c => c.Code?.Trim().ToUpperInvariant()).Order(StringComparer.Ordinal)), Normalize(t.CodeText));
        var text = d.Dose is null && d.DoseRangeLow is null && d.DoseRangeHigh is null && t is null ? Normalize(d.Text) : "";
        var max = d.MaxDosePerPeriod is { } m ? $"{Quantity(m.Numerator)}/{Quantity(m.Denominator)}" : "";
        return string.Join(";", Quantity(d.Dose), Quantity(d.DoseRangeLow), Quantity(d.DoseRangeHigh), timing, d.AsNeeded ? "prn" : "",
            max, Quantity(d.MaxDosePerAdministration), Normalize(d.Route), text);
    }

    private static string Quantity(QuantityFact? q) => q is null ? "" : $"{Number(q.Value)} {Normalize(q.Code ?? q.Unit)}";

    private static string Number(decimal? value) => value is { } v ? v.ToString("G29", CultureInfo.InvariantCulture) : "";

    private static string Normalize(string? text) =>
        string.IsNullOrWhiteSpace(text) ? "" : Spaces().Replace(text.Trim(), " ").ToLowerInvariant();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant, 100)]
    private static partial Regex Spaces();
}
