using System.Globalization;
using System.Text.RegularExpressions;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;

namespace KetamineCds.Tests.Equivalence;

// The clinical evaluation as it was before the allocation work of issue 8 (commit b00bbdf), kept verbatim as the oracle
// the equivalence tests compare the current code against. Not used by the product; never changed except to rename.

public sealed class LegacyClassifier
{
    private readonly ClinicalKnowledge _knowledge;
    private readonly Dictionary<string, Ingredient> _ingredientByRxNorm;
    private readonly List<(string Name, Ingredient Ingredient)> _names;

    public LegacyClassifier(ClinicalKnowledge knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        _knowledge = knowledge;
        _ingredientByRxNorm = knowledge.Ingredients.Values
            .SelectMany(i => i.RxNormCodes.Select(code => (code, i)))
            .ToDictionary(p => p.code, p => p.i, StringComparer.Ordinal);

        // Longest names first so "chlordiazepoxide hydrochloride" wins over a shorter overlapping name.
        _names = knowledge.Ingredients.Values
            .SelectMany(i => i.Names.Append(i.Name).Distinct(StringComparer.OrdinalIgnoreCase).Select(n => (Name: n.Trim(), Ingredient: i)))
            .Where(p => p.Name.Length > 0)
            .OrderByDescending(p => p.Name.Length)
            .ToList();
    }

    /// <summary>Returns the ingredient this entry is, or null when it is none of ours.</summary>
    public RecognizedMedication? Classify(MedicationFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var codes = fact.Codes
            .Concat(fact.Ingredients.SelectMany(i => i.Codes))
            .Where(c => !string.IsNullOrWhiteSpace(c.Code))
            .Select(c => (System: LegacySystemOf(c.System), Code: c.Code!.Trim()))
            .Where(c => c.System is not null)
            .ToList();
        var rxCodes = codes.Where(c => c.System == MedicationCodeSystem.RxNorm).Select(c => c.Code).ToList();
        var snomedCodes = codes.Where(c => c.System == MedicationCodeSystem.SnomedCt).Select(c => c.Code).ToList();
        var codings = _knowledge.Codings;

        if (ProductOf(rxCodes, _knowledge.Products) is { } rxProduct)
        {
            return new RecognizedMedication(fact, rxProduct.Ingredient, RecognitionBasis.RxNormProductCode, rxProduct.Product);
        }

        if (ProductOf(snomedCodes, codings.SnomedProducts) is { } snomedProduct)
        {
            return new RecognizedMedication(fact, snomedProduct.Ingredient, RecognitionBasis.SnomedProductCode, snomedProduct.Product);
        }

        foreach (var code in rxCodes)
        {
            if (_ingredientByRxNorm.TryGetValue(code, out var ingredient))
            {
                return new RecognizedMedication(fact, ingredient, RecognitionBasis.RxNormIngredientCode, null);
            }
        }

        foreach (var (system, code) in codes)
        {
            var map = system switch
            {
                MedicationCodeSystem.SnomedCt => codings.SnomedSubstances,
                MedicationCodeSystem.Atc => codings.AtcCodes,
                _ => null,
            };
            // ATC codes are upper-case by definition; some systems send them lower-case.
            if (map is not null && map.TryGetValue(system == MedicationCodeSystem.Atc ? code.ToUpperInvariant() : code, out var ingredientCode)
                && _knowledge.Ingredients.TryGetValue(ingredientCode, out var ingredient))
            {
                var basis = system == MedicationCodeSystem.Atc ? RecognitionBasis.AtcCode : RecognitionBasis.SnomedSubstanceCode;
                return new RecognizedMedication(fact, ingredient, basis, null);
            }
        }

        var byName = MatchName(NamesOf(fact));
        if (byName is not null)
        {
            var basis = rxCodes.Any(_knowledge.RxNormClass.ContainsKey) ? RecognitionBasis.ValueSetCode : RecognitionBasis.Name;
            return new RecognizedMedication(fact, byName, basis, null);
        }

        return null;
    }

    /// <summary>Finds one of our ingredients named in free text (used for names and, by dosing, for sig text).</summary>
    public Ingredient? MatchName(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        foreach (var text in texts)
        {
            foreach (var (name, ingredient) in _names)
            {
                if (ContainsWord(text, name))
                {
                    return ingredient;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The name as a whole word (not inside a longer word or number), case-insensitive. A plain search rather than a
    /// regular expression: no match timeout to hit when the machine is loaded, and linear in the text.
    /// </summary>
    private static bool ContainsWord(string text, string name)
    {
        for (var at = text.IndexOf(name, StringComparison.OrdinalIgnoreCase); at >= 0;
             at = at + 1 < text.Length ? text.IndexOf(name, at + 1, StringComparison.OrdinalIgnoreCase) : -1)
        {
            var end = at + name.Length;
            if ((at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The code system a coding names, by its FHIR URI or its HL7 OID, as EHRs send them: RxNorm
    /// (2.16.840.1.113883.6.88), SNOMED CT (2.16.840.1.113883.6.96; also an edition/version URI such as
    /// http://snomed.info/sct/900000000000207008/version/20240101 put in system), WHO ATC (2.16.840.1.113883.6.73).
    /// Null for any other system.
    /// </summary>
    public static MedicationCodeSystem? LegacySystemOf(string? system)
    {
        if (string.IsNullOrWhiteSpace(system))
        {
            return null;
        }

        var s = system.Trim().TrimEnd('/');
        if (s.StartsWith("urn:oid:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["urn:oid:".Length..];
        }

        if (s.Equals(MedicationClassifier.RxNormSystem, StringComparison.OrdinalIgnoreCase) || s == "2.16.840.1.113883.6.88")
        {
            return MedicationCodeSystem.RxNorm;
        }

        if (s.Equals(MedicationClassifier.SnomedSystem, StringComparison.OrdinalIgnoreCase) || s.StartsWith(MedicationClassifier.SnomedSystem + "/", StringComparison.OrdinalIgnoreCase)
            || s == "2.16.840.1.113883.6.96")
        {
            return MedicationCodeSystem.SnomedCt;
        }

        if (s.Equals(MedicationClassifier.AtcSystem, StringComparison.OrdinalIgnoreCase) || s == "2.16.840.1.113883.6.73")
        {
            return MedicationCodeSystem.Atc;
        }

        return null;
    }

    private (ProductInfo Product, Ingredient Ingredient)? ProductOf(List<string> codes, IReadOnlyDictionary<string, ProductInfo> products)
    {
        foreach (var code in codes)
        {
            if (products.TryGetValue(code, out var product) && _knowledge.Ingredients.TryGetValue(product.IngredientCode, out var ingredient))
            {
                return (product, ingredient);
            }
        }

        return null;
    }

    private static IEnumerable<string> NamesOf(MedicationFact fact) =>
        fact.Texts
            .Concat(fact.Codes.Select(c => c.Display))
            .Concat(fact.Ingredients.Select(i => i.Text))
            .Concat(fact.Ingredients.SelectMany(i => i.Codes.Select(c => c.Display)))
            .Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => t!);
}

public static class LegacyStatusPolicy
{
    private static readonly HashSet<string> ActiveStatements = new(StringComparer.OrdinalIgnoreCase) { "active", "intended", "on-hold" };
    private static readonly HashSet<string> ActiveRequests = new(StringComparer.OrdinalIgnoreCase) { "active", "on-hold" };
    private static readonly HashSet<string> DraftOrders = new(StringComparer.OrdinalIgnoreCase) { "draft", "active", "on-hold" };

    public static bool IsCurrent(MedicationFact fact, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var statusCounts = fact.Source switch
        {
            MedicationSource.Statement => ActiveStatements.Contains(fact.Status),
            MedicationSource.Request => ActiveRequests.Contains(fact.Status),
            MedicationSource.DraftOrder => DraftOrders.Contains(fact.Status),
            _ => false,
        };
        if (!statusCounts)
        {
            return false;
        }

        if (fact.EffectiveEnd is { } end && end < now)
        {
            return false;
        }

        // Every dosage line bounded and all bounds over: the therapy has ended.
        var bounds = fact.Dosages.Select(d => d.Timing?.BoundsEnd).ToList();
        return bounds.Count == 0 || bounds.Any(b => b is null || b >= now);
    }
}

public static class LegacyTherapyReconciler
{
    public static IReadOnlyList<Therapy> Reconcile(IEnumerable<RecognizedMedication> medications, DailyDoseCalculator calculator, DateTimeOffset? asOf = null)
    {
        ArgumentNullException.ThrowIfNull(medications);
        ArgumentNullException.ThrowIfNull(calculator);
        var therapies = new List<Therapy>();
        foreach (var group in medications.GroupBy(m => m.Ingredient.Code, StringComparer.Ordinal))
        {
            var entries = group.Select(m => new Entry(m, calculator.Calculate(m, asOf), LegacyDosageSignature.Of(m.Fact))).ToList();

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
            LegacyDosageSignature.Of(a.Fact) == LegacyDosageSignature.Of(b.Fact) && !HasDates(a.Fact) && !HasDates(b.Fact))));
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

internal static partial class LegacyDosageSignature
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

public sealed class LegacyEvaluator(
    ClinicalKnowledge knowledge,
    LegacyClassifier classifier,
    DailyDoseCalculator calculator,
    RuleSettings settings,
    LegacyOutcomeCalculator outcomes)
{
    public Evaluation Evaluate(HookKind hook, PatientData data, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(data);
        var current = data.Medications
            .Concat(data.DraftOrders)
            .Where(m => LegacyStatusPolicy.IsCurrent(m, now))
            .Select(classifier.Classify)
            .OfType<RecognizedMedication>()
            .ToList();

        // The ketamine the call concerns: the selected draft orders at order-select/order-sign, the current ketamine
        // medications at patient-view. Its ingredient (esketamine or racemic ketamine) decides the route-specific evidence.
        var ketamine = (hook switch
        {
            HookKind.PatientView => current,
            _ => data.DraftOrders
                .Where(o => data.Selections is null || data.Selections.Contains(o.Reference))
                .Select(classifier.Classify)
                .OfType<RecognizedMedication>(),
        }).Where(m => m.Ingredient.Class == DrugClass.Ketamine).ToList();
        var triggered = ketamine.Count > 0;
        if (!triggered)
        {
            return new Evaluation(false, [], []);
        }

        var therapies = LegacyTherapyReconciler.Reconcile(current.Where(m => m.Ingredient.Class != DrugClass.Ketamine), calculator, now);
        var treatmentDates = TreatmentDates(current, data.Assessments?.Scores ?? []).ToList();
        var summary = data.Assessments is { } assessments
            ? outcomes.Summarize(assessments.Scores, treatmentDates, assessments.Excluded)
            : null;

        var benzodiazepines = LegacyBenzodiazepineRule.Assess(therapies, knowledge, settings.BenzodiazepineThresholdLorazepamMgPerDay);
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
            KetamineEntries = current.Where(m => m.Ingredient.Class == DrugClass.Ketamine).ToList(),
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
    private static IEnumerable<DateTimeOffset> TreatmentDates(IEnumerable<RecognizedMedication> current, IEnumerable<AssessmentScore> scores)
    {
        var cadssDays = scores
            .Where(s => s.Kind == AssessmentKind.Cadss)
            .GroupBy(s => s.When.UtcDateTime.Date)
            .ToDictionary(g => g.Key, g => g.Min(s => s.When));
        var courseStart = current
            .Where(m => m.Ingredient.Class == DrugClass.Ketamine && m.Fact.Source != MedicationSource.DraftOrder)
            .Select(m => m.Fact.EffectiveStart)
            .OfType<DateTimeOffset>()
            .DefaultIfEmpty()
            .Min();
        if (courseStart != default && !cadssDays.ContainsKey(courseStart.UtcDateTime.Date))
        {
            cadssDays[courseStart.UtcDateTime.Date] = courseStart;
        }

        return cadssDays.Values.Order();
    }
}

public sealed class LegacyOutcomeCalculator(OutcomeDefinitions definitions)
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

        // "At any point": the article counts remission reached "at some point during the induction phase" (Results 3.2),
        // so every score after the baseline is judged, not only the latest. Within one instant the HIGHER score is
        // taken (as for the latest), so a tie never overstates.
        var afterBaseline = ordered.Where(s => s.When > baseline.When)
            .GroupBy(s => s.When)
            .Select(g => g.Last())
            .ToList();
        var firstResponse = baseline.Score == 0
            ? null
            : afterBaseline.FirstOrDefault(s => -PercentChange(baseline.Score, s.Score)!.Value >= _definitions.ResponseMinPercentReduction);
        var firstRemission = afterBaseline.FirstOrDefault(s => s.Score <= _definitions.RemissionMaxScore);

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

public static class LegacyBenzodiazepineRule
{
    /// <summary>The calculation table and totals under both tables; null when the patient takes no benzodiazepine.</summary>
    public static BenzodiazepineAssessment? Assess(
        IReadOnlyList<Therapy> therapies,
        ClinicalKnowledge knowledge,
        decimal? siteThresholdMgPerDay = null)
    {
        ArgumentNullException.ThrowIfNull(therapies);
        ArgumentNullException.ThrowIfNull(knowledge);
        var benzodiazepines = therapies.Where(t => t.Ingredient.Class == DrugClass.Benzodiazepine).ToList();
        if (benzodiazepines.Count == 0)
        {
            return null;
        }

        var lines = benzodiazepines.Select(t => Line(t, knowledge)).ToList();
        // Z-drugs are not benzodiazepines and are never added, but a clinician reading the table should see them.
        lines.AddRange(therapies.Where(t => t.Ingredient.Class == DrugClass.ZDrug)
            .Select(t => new BenzodiazepineLine(t, t.Dose.MgPerDay, null, null, false, null, null,
                "not a benzodiazepine (Z-drug); not added to the total", NotCountedKind.NotABenzodiazepine)));

        var counted = lines.Where(l => l.Counted).ToList();
        var totalPrimary = DailyDoseCalculator.Round(counted.Sum(l => l.LorazepamEquivalentMgPerDay!.Value));
        var totalAlternate = DailyDoseCalculator.Round(counted.Sum(l => l.LorazepamEquivalentMgPerDayAlternate!.Value));
        var threshold = siteThresholdMgPerDay ?? knowledge.Thresholds.BenzodiazepineLorazepamMgPerDay;
        var inclusive = knowledge.Thresholds.BenzodiazepineInclusive;
        return new BenzodiazepineAssessment(lines, totalPrimary, totalAlternate, threshold, inclusive, siteThresholdMgPerDay is not null);
    }

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
