using System.Globalization;
using System.Text;
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
    public string DisplayName
    {
        get
        {
            foreach (var e in Entries)
            {
                if (e.Fact.Name is { } name)
                {
                    return name;
                }
            }

            foreach (var e in Entries)
            {
                if (!string.IsNullOrWhiteSpace(e.Product?.Display))
                {
                    return e.Product.Display;
                }
            }

            return Ingredient.Name;
        }
    }

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
    public string? Route
    {
        get
        {
            for (var i = 0; i < Entries.Count; i++)
            {
                var e = Entries[i];
                var route = e.Fact.Route ?? (i < EntryDoses.Count ? EntryDoses[i].Route : null) ?? e.Product?.Route;
                if (!string.IsNullOrWhiteSpace(route))
                {
                    return route;
                }
            }

            return null;
        }
    }
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

        // By ingredient, in the order each ingredient first appears (as GroupBy would; a chart has a handful of
        // ingredients, so a list search beats a lookup's allocations).
        var byIngredient = new List<List<RecognizedMedication>>();
        foreach (var medication in medications)
        {
            List<RecognizedMedication>? same = null;
            foreach (var existing in byIngredient)
            {
                if (string.Equals(existing[0].Ingredient.Code, medication.Ingredient.Code, StringComparison.Ordinal))
                {
                    same = existing;
                    break;
                }
            }

            if (same is null)
            {
                byIngredient.Add(same = []);
            }

            same.Add(medication);
        }

        foreach (var group in byIngredient)
        {
            // 1. Linked entries form one therapy (transitively).
            var groups = new List<List<Entry>>(group.Count);
            foreach (var medication in group)
            {
                JoinLinked(groups, new Entry(medication, calculator.Calculate(medication, asOf)));
            }

            // 2. Copies of one record form one therapy (transitively, across kinds).
            MergeCopies(groups);

            // 3. A group of reports pairs with a group of orders: equal doses first, then any (not scheduled with as needed).
            PairReportsWithOrders(groups);

            // 4. What remains of this ingredient is concurrent: each therapy is counted and says so.
            var merged = new List<Therapy>(groups.Count);
            foreach (var g in groups)
            {
                merged.Add(Merge(g));
            }

            if (merged.Count > 1)
            {
                var concurrent = new List<Therapy>(merged.Count);
                foreach (var t in merged)
                {
                    concurrent.Add(t with
                    {
                        Concurrent = true,
                        ReconciliationNote = Join(t.ReconciliationNote, ConcurrentNote(t, merged)),
                    });
                }

                merged = concurrent;
            }

            therapies.AddRange(merged);
        }

        return therapies;
    }

    /// <summary>One entry being reconciled: its dose, its dosage signature (computed when first compared), and whether it
    /// was found to be a copy of another record.</summary>
    private sealed class Entry(RecognizedMedication med, DailyDose dose)
    {
        private string? _signature;

        public RecognizedMedication Med { get; } = med;

        public DailyDose Dose { get; } = dose;

        public string Signature => _signature ??= DosageSignature.Of(Med.Fact);

        /// <summary>Set when this entry and another were recognized as one record (step 2); counted in the note.</summary>
        public bool IsCopy { get; set; }
    }

    /// <summary>The entry joins every group holding an entry it is linked to; those groups become one, placed last.</summary>
    private static void JoinLinked(List<List<Entry>> groups, Entry entry)
    {
        var merged = new List<Entry> { entry };
        for (var i = 0; i < groups.Count;)
        {
            if (AnyLinked(groups[i], entry))
            {
                merged.AddRange(groups[i]);
                groups.RemoveAt(i);
            }
            else
            {
                i++;
            }
        }

        groups.Add(merged);
    }

    private static bool AnyLinked(List<Entry> group, Entry entry)
    {
        foreach (var other in group)
        {
            if (Linked(entry.Med.Fact, other.Med.Fact))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Step 2: each group takes in every other group holding a copy of one of its entries, until no group changes. The
    /// entries found to be copies are marked as the merge finds them (a copy matched against the group as it has grown).
    /// </summary>
    private static void MergeCopies(List<List<Entry>> groups)
    {
        if (groups.Count < 2)
        {
            return;
        }

        var snapshot = new List<List<Entry>>(groups.Count);
        var copies = new List<List<Entry>>();
        for (var changed = true; changed;)
        {
            changed = false;
            snapshot.Clear();
            snapshot.AddRange(groups);
            foreach (var therapy in snapshot)
            {
                if (!ContainsGroup(groups, therapy))
                {
                    continue;
                }

                copies.Clear();
                foreach (var other in groups)
                {
                    if (!ReferenceEquals(other, therapy) && AnySameRecord(therapy, other))
                    {
                        copies.Add(other);
                    }
                }

                if (copies.Count == 0)
                {
                    continue;
                }

                foreach (var copy in copies)
                {
                    foreach (var b in copy)
                    {
                        b.IsCopy |= AnySameRecord(therapy, b);
                    }

                    foreach (var a in therapy)
                    {
                        a.IsCopy |= AnySameRecord(copy, a);
                    }

                    therapy.AddRange(copy);
                    RemoveGroup(groups, copy);
                }

                changed = true;
            }
        }
    }

    private static bool ContainsGroup(List<List<Entry>> groups, List<Entry> group)
    {
        foreach (var g in groups)
        {
            if (ReferenceEquals(g, group))
            {
                return true;
            }
        }

        return false;
    }

    private static void RemoveGroup(List<List<Entry>> groups, List<Entry> group)
    {
        for (var i = 0; i < groups.Count; i++)
        {
            if (ReferenceEquals(groups[i], group))
            {
                groups.RemoveAt(i);
                return;
            }
        }
    }

    private static bool AnySameRecord(List<Entry> group, List<Entry> other)
    {
        foreach (var a in group)
        {
            if (AnySameRecord(other, a))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnySameRecord(List<Entry> group, Entry entry)
    {
        foreach (var a in group)
        {
            if (SameRecordedTherapy(a, entry))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Step 3: each group of reports joins the first group of orders with the same known dose; then each remaining one
    /// joins the first remaining order with the same as-needed-ness. An order takes at most one group of reports.
    /// </summary>
    private static void PairReportsWithOrders(List<List<Entry>> groups)
    {
        List<List<Entry>>? reports = null;
        List<List<Entry>>? orders = null;
        foreach (var t in groups)
        {
            if (AllStatements(t, statements: true))
            {
                (reports ??= []).Add(t);
            }

            if (AllStatements(t, statements: false))
            {
                (orders ??= []).Add(t);
            }
        }

        if (reports is null || orders is null)
        {
            return;
        }

        for (var pass = 0; pass < 2; pass++)
        {
            var sameDoseOnly = pass == 0;
            for (var r = 0; r < reports.Count;)
            {
                var report = reports[r];
                var reportDose = sameDoseOnly ? Counted(report) : null;
                var reportAsNeeded = !sameDoseOnly && AsNeeded(report);
                List<Entry>? order = null;
                foreach (var o in orders)
                {
                    if (sameDoseOnly ? SameKnownDose(reportDose!, Counted(o)) : reportAsNeeded == AsNeeded(o))
                    {
                        order = o;
                        break;
                    }
                }

                if (order is null)
                {
                    r++;
                    continue;
                }

                order.AddRange(report);
                RemoveGroup(groups, report);
                reports.RemoveAt(r);
                RemoveGroup(orders, order);
            }
        }
    }

    /// <summary>Every entry of the group is a statement (<paramref name="statements"/>), or none is.</summary>
    private static bool AllStatements(List<Entry> group, bool statements)
    {
        foreach (var e in group)
        {
            if ((e.Med.Fact.Source == MedicationSource.Statement) != statements)
            {
                return false;
            }
        }

        return true;
    }

    private static Therapy Merge(List<Entry> entries)
    {
        // The prescription first (it names the therapy), then the reports (a stable order within each).
        var ordered = new List<Entry>(entries.Count);
        foreach (var e in entries)
        {
            if (e.Med.Fact.Source != MedicationSource.Statement)
            {
                ordered.Add(e);
            }
        }

        foreach (var e in entries)
        {
            if (e.Med.Fact.Source == MedicationSource.Statement)
            {
                ordered.Add(e);
            }
        }

        var first = ordered[0];
        if (ordered.Count == 1)
        {
            return new Therapy(first.Med.Ingredient, [first.Med], [first.Dose], first.Dose, null);
        }

        // The higher known dose is counted (the first of equal highest); all agree when every entry has the same
        // mg/day (or every one is unknown).
        Entry? highest = null;
        var allAgree = true;
        var copies = 0;
        foreach (var e in ordered)
        {
            if (e.Dose.MgPerDay is { } mg && (highest is null || mg > highest.Dose.MgPerDay!.Value))
            {
                highest = e;
            }

            allAgree &= e.Dose.MgPerDay == first.Dose.MgPerDay;
            copies += e.IsCopy ? 1 : 0;
        }

        var counted = highest?.Dose ?? first.Dose;
        // No FHIR ids in the note: it is clinician text (the ids stay in the card's extension).
        var note = !allAgree
            ? $"{string.Join("; ", ordered.Select(e => $"{Kind(e.Med.Fact.Source)} ({Describe(e.Dose)})"))} describe one therapy and disagree; " +
              (highest is not null ? "the higher known dose is counted" : "no dose could be determined")
            : copies > 0
                ? $"{Kinds(ordered)} record the same therapy (same dose, timing and dates) and are counted once"
                : $"{Kinds(ordered)} describe the same therapy and are counted once";

        var meds = new RecognizedMedication[ordered.Count];
        var doses = new DailyDose[ordered.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            (meds[i], doses[i]) = (ordered[i].Med, ordered[i].Dose);
        }

        return new Therapy(first.Med.Ingredient, meds, doses, counted, note)
        {
            DuplicateEntries = copies,
        };
    }

    private static string ConcurrentNote(Therapy therapy, List<Therapy> all)
    {
        var others = all.Count - 1;
        var sameRecord = all.Where(t => t != therapy).Any(t => t.Entries.Any(a => therapy.Entries.Any(b =>
            !HasDates(a.Fact) && !HasDates(b.Fact) && DosageSignature.Of(a.Fact) == DosageSignature.Of(b.Fact))));
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

    /// <summary>The same reference, or one ending in "/" + the target (an absolute or versioned URL of it).</summary>
    private static bool SameReference(string reference, string target) =>
        reference.Equals(target, StringComparison.Ordinal)
        || (reference.Length > target.Length && reference[reference.Length - target.Length - 1] == '/'
            && reference.EndsWith(target, StringComparison.Ordinal));

    private static bool SameKnownDose(DailyDose a, DailyDose b) => a.MgPerDay is { } x && b.MgPerDay is { } y && x == y;

    /// <summary>The group's highest known dose (the first of equal highest), else its first entry's.</summary>
    private static DailyDose Counted(List<Entry> group)
    {
        DailyDose? highest = null;
        foreach (var e in group)
        {
            if (e.Dose.MgPerDay is { } mg && (highest is null || mg > highest.MgPerDay!.Value))
            {
                highest = e.Dose;
            }
        }

        return highest ?? group[0].Dose;
    }

    /// <summary>As needed: a PRN dosage line, or a dose counted at a PRN maximum (also from text sigs).</summary>
    private static bool AsNeeded(List<Entry> group)
    {
        foreach (var e in group)
        {
            foreach (var d in e.Med.Fact.Dosages)
            {
                if (d.AsNeeded)
                {
                    return true;
                }
            }

            if (e.Dose.Derivations.Contains(DoseDerivation.PrnMaximum))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The same therapy recorded twice: same daily dose (both known and equal, or both unknown), the same dosage lines
    /// and route, and effective dates that overlap (each entry must have at least one date).
    /// </summary>
    private static bool SameRecordedTherapy(Entry a, Entry b) =>
        a.Dose.MgPerDay == b.Dose.MgPerDay
        && a.Dose.ScheduledMgPerDay == b.Dose.ScheduledMgPerDay
        && HasDates(a.Med.Fact) && HasDates(b.Med.Fact)
        && Overlap(a.Med.Fact, b.Med.Fact)
        && a.Signature == b.Signature; // last: the signature is built on first use

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
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // One buffer per thread for the whole signature (and one for a line of several), reused call after call.
    [ThreadStatic]
    private static StringBuilder? _buffer;

    [ThreadStatic]
    private static StringBuilder? _lineBuffer;

    /// <summary>
    /// "route=...|line||line": the lines in ordinal order. Each line is "dose;low;high;timing;prn;max;maxPerAdmin;route;text"
    /// and a timing is "frequency,frequencyMax,period,periodMax,periodUnit,when,timeOfDay,event,code+code,codeText";
    /// quantities read "value unit". Built in one buffer: the text only has to compare equal for equal dosages.
    /// </summary>
    public static string Of(MedicationFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var builder = _buffer ??= new StringBuilder(128);
        builder.Clear();
        builder.Append("route=").Append(Normalize(fact.Route)).Append('|');
        var dosages = fact.Dosages;
        if (dosages.Count == 1)
        {
            AppendLine(builder, dosages[0]);
        }
        else if (dosages.Count > 1)
        {
            var lines = new string[dosages.Count];
            var line = _lineBuffer ??= new StringBuilder(64);
            for (var i = 0; i < lines.Length; i++)
            {
                line.Clear();
                AppendLine(line, dosages[i]);
                lines[i] = line.ToString();
            }

            Array.Sort(lines, StringComparer.Ordinal);
            builder.AppendJoin("||", lines);
        }

        return builder.ToString();
    }

    private static void AppendLine(StringBuilder b, DosageFact d)
    {
        var t = d.Timing;
        AppendQuantity(b, d.Dose);
        b.Append(';');
        AppendQuantity(b, d.DoseRangeLow);
        b.Append(';');
        AppendQuantity(b, d.DoseRangeHigh);
        b.Append(';');
        if (t is not null)
        {
            AppendTiming(b, t);
        }

        b.Append(';').Append(d.AsNeeded ? "prn" : "").Append(';');
        if (d.MaxDosePerPeriod is { } m)
        {
            AppendQuantity(b, m.Numerator);
            b.Append('/');
            AppendQuantity(b, m.Denominator);
        }

        b.Append(';');
        AppendQuantity(b, d.MaxDosePerAdministration);
        b.Append(';').Append(Normalize(d.Route)).Append(';');

        // The sig text only for a line with neither a structured dose nor a structured timing.
        if (d.Dose is null && d.DoseRangeLow is null && d.DoseRangeHigh is null && t is null)
        {
            b.Append(Normalize(d.Text));
        }
    }

    private static void AppendTiming(StringBuilder b, TimingFact t)
    {
        if (t.Frequency is { } frequency)
        {
            b.Append(frequency);
        }

        b.Append(',');
        if (t.FrequencyMax is { } frequencyMax)
        {
            b.Append(frequencyMax);
        }

        b.Append(',');
        AppendNumber(b, t.Period);
        b.Append(',');
        AppendNumber(b, t.PeriodMax);
        b.Append(',').Append(t.PeriodUnit).Append(',')
            .Append(t.WhenCount).Append(',')
            .Append(t.TimeOfDayCount).Append(',')
            .Append(t.EventCount).Append(',');
        var codes = t.Codes;
        if (codes.Count == 1)
        {
            b.Append(codes[0].Code?.Trim().ToUpperInvariant());
        }
        else if (codes.Count > 1)
        {
            var sorted = new string?[codes.Count];
            for (var i = 0; i < sorted.Length; i++)
            {
                sorted[i] = codes[i].Code?.Trim().ToUpperInvariant();
            }

            Array.Sort(sorted, StringComparer.Ordinal);
            b.AppendJoin('+', sorted);
        }

        b.Append(',').Append(Normalize(t.CodeText));
    }

    private static void AppendQuantity(StringBuilder b, QuantityFact? q)
    {
        if (q is not null)
        {
            AppendNumber(b, q.Value);
            b.Append(' ').Append(Normalize(q.Code ?? q.Unit));
        }
    }

    private static void AppendNumber(StringBuilder b, decimal? value)
    {
        if (value is { } v)
        {
            b.Append(Inv, $"{v:G29}");
        }
    }

    /// <summary>Trimmed, runs of white space as one space, lower case; text already so is returned as it is.</summary>
    internal static string Normalize(string? text) =>
        string.IsNullOrWhiteSpace(text) ? ""
        : IsNormalized(text) ? text
        : Spaces().Replace(text.Trim(), " ").ToLowerInvariant();

    /// <summary>Printable ASCII without capitals, single spaces between words, none at either end: nothing to change.</summary>
    private static bool IsNormalized(string text)
    {
        if (text[0] == ' ' || text[^1] == ' ')
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is < ' ' or > '~' or (>= 'A' and <= 'Z') || (c == ' ' && text[i - 1] == ' '))
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant, 100)]
    private static partial Regex Spaces();
}
