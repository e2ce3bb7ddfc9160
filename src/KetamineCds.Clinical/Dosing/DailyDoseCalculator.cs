using System.Globalization;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Dosing;

/// <summary>
/// Computes a medication's daily dose in mg/day from its dosage lines: a dose per administration (mass, or a count
/// times the product's strength) times administrations per day (timing.repeat, when/timeOfDay, timing.code), summed
/// over concurrent lines. Whatever cannot be computed is an explicit unknown with its reason, never zero.
/// </summary>
public sealed class DailyDoseCalculator(ISigTextParser sigParser)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public DailyDose Calculate(RecognizedMedication medication) => Calculate(medication, asOf: null);

    /// <summary>
    /// As <see cref="Calculate(RecognizedMedication)"/>, leaving out dosage lines whose timing bounds ended before
    /// <paramref name="asOf"/> (a finished taper step is not current therapy).
    /// </summary>
    public DailyDose Calculate(RecognizedMedication medication, DateTimeOffset? asOf)
    {
        ArgumentNullException.ThrowIfNull(medication);
        try
        {
            return CalculateUnchecked(medication, asOf);
        }
        catch (OverflowException)
        {
            // Numbers beyond decimal's range are data errors: reported as an unknown dose, never a 500.
            return DailyDose.Unknown("the dosage numbers are out of range");
        }
    }

    /// <summary>A daily amount that is negative, zero or beyond any real dose is a data error, reported as unknown.</summary>
    private static LineResult Plausible(LineResult line) =>
        line.MgPerDay <= 0 || line.MgPerDay > MaxPlausibleMgPerAdministration * MaxPlausibleAdministrationsPerDay
            ? LineResult.Fail($"the computed amount ({Format(line.MgPerDay)} mg/day from {line.Calculation}) is not plausible")
            : line;

    /// <summary>More than this per administration (10 g) is not a dose of any drug we count: a data error.</summary>
    private const decimal MaxPlausibleMgPerAdministration = 10_000m;

    /// <summary>More than hourly dosing around the clock is not a schedule for these oral drugs: a data error.</summary>
    private const decimal MaxPlausibleAdministrationsPerDay = 24m;

    private DailyDose CalculateUnchecked(RecognizedMedication medication, DateTimeOffset? asOf)
    {
        var fact = medication.Fact;
        IReadOnlyList<DosageFact> lines = fact.Dosages;

        // The route the entry names, structured or read from its sig: kept on the result even when the dose is
        // unknown, so a non-oral entry is named as not oral rather than as unreadable.
        string? route = null;
        foreach (var l in lines)
        {
            if (!string.IsNullOrWhiteSpace(l.Route))
            {
                route = l.Route;
                break;
            }
        }

        DailyDose Fail(string reason) => DailyDose.Unknown(reason, route);
        void NoteRoute(SigParseResult parsed)
        {
            foreach (var d in parsed.Dosages)
            {
                if (route is not null)
                {
                    return;
                }

                route = d.Route;
            }
        }

        if (asOf is { } now && lines.Count > 0)
        {
            // Only the lines still current count; the list is copied only when a line has ended.
            static bool Ended(DosageFact l, DateTimeOffset now) => l.Timing?.BoundsEnd is { } end && end < now;
            var ended = 0;
            foreach (var l in lines)
            {
                ended += Ended(l, now) ? 1 : 0;
            }

            if (ended == lines.Count)
            {
                return Fail("every dosage line has ended (timing bounds are in the past)");
            }

            if (ended > 0)
            {
                var current = new List<DosageFact>(lines.Count - ended);
                foreach (var l in lines)
                {
                    if (!Ended(l, now))
                    {
                        current.Add(l);
                    }
                }

                lines = current;
            }
        }

        // Lines with nothing structured to count but a text sig are read by the sig parser; what the line does
        // say structurally (timing, as needed, maximums, route) still holds.
        var expanded = new List<DosageFact>(lines.Count);
        foreach (var line in lines)
        {
            if (line.Dose is null && line.DoseRangeHigh is null && !string.IsNullOrWhiteSpace(line.Text))
            {
                var parsed = sigParser.Parse(line.Text);
                NoteRoute(parsed);
                if (parsed.Dosages.Count == 0 || parsed.Unparsed is not null)
                {
                    return Fail($"the sig \"{line.Text}\" could not be read{NotUnderstood(parsed)}");
                }

                expanded.AddRange(parsed.Dosages.Select(d => d with
                {
                    Timing = d.Timing ?? line.Timing,
                    AsNeeded = d.AsNeeded || line.AsNeeded,
                    MaxDosePerPeriod = d.MaxDosePerPeriod ?? line.MaxDosePerPeriod,
                    MaxDosePerAdministration = d.MaxDosePerAdministration ?? line.MaxDosePerAdministration,
                    Route = line.Route ?? d.Route,
                }));
            }
            else if (!string.IsNullOrWhiteSpace(line.Text) && AdministrationsPerDay(line.Timing, Vocabulary, describe: false, out _, out _) is null)
            {
                // Epic sends the dose structured (doseQuantity 1 tablet) and the schedule only in the sig text
                // ("Take 1 tablet by mouth 2 (two) times daily."): the text supplies what the structure lacks.
                var parsed = sigParser.Parse(line.Text);
                NoteRoute(parsed);
                var withText = FromText(line, parsed);
                if (withText.Reason is not null && !(line.AsNeeded && line.MaxDosePerPeriod is not null))
                {
                    return Fail(withText.Reason);
                }

                expanded.Add(withText.Line ?? line);
            }
            else
            {
                expanded.Add(line);
            }
        }

        if (expanded.Count == 0)
        {
            // No dosage at all: the medication text itself may carry a sig ("clonazepam 0.5 mg tid").
            foreach (var text in fact.Texts.Where(t => !string.IsNullOrWhiteSpace(t)))
            {
                var parsed = sigParser.Parse(text);
                NoteRoute(parsed);
                if (parsed.Dosages.Count > 0 && parsed.Unparsed is not null)
                {
                    return Fail($"the medication text \"{text}\" could not be read{NotUnderstood(parsed)}");
                }

                if (parsed.Dosages.Count > 0)
                {
                    expanded.AddRange(parsed.Dosages);
                    break;
                }
            }

            if (expanded.Count == 0)
            {
                return Fail("no dosage was given");
            }
        }

        decimal total = 0, scheduled = 0;
        var anyPrn = false;
        var upTo = false;
        var derivations = new List<DoseDerivation>(2);
        var parts = new List<string>(expanded.Count);
        foreach (var line in expanded)
        {
            var result = CalculateLine(medication, line);
            if (result.Unknown is not null)
            {
                return Fail(result.Unknown);
            }

            total += result.MgPerDay;
            if (line.AsNeeded)
            {
                anyPrn = true;
            }
            else
            {
                scheduled += result.MgPerDay;
            }

            upTo |= result.UpTo;
            derivations.AddRange(result.Derivations);
            parts.Add(result.Calculation);
        }

        return new DailyDose
        {
            MgPerDay = Round(total),
            ScheduledMgPerDay = anyPrn ? Round(scheduled) : null,
            IsUpTo = upTo,
            Derivations = Distinct(derivations),
            Calculation = parts.Count == 1 ? parts[0] : string.Join(" + ", parts),
            Route = route,
        };
    }

    /// <summary>The words of the sig itself, quoted.</summary>
    private SigVocabulary Vocabulary => sigParser.Vocabulary;

    /// <summary>" (not understood: "a", "b")": each part the reader could not place, quoted verbatim.</summary>
    private static string NotUnderstood(SigParseResult parsed) =>
        parsed.UnparsedParts.Count == 0 ? "" : $" (not understood: {string.Join(", ", parsed.UnparsedParts.Select(p => $"\"{p}\""))})";

    /// <summary>
    /// A structured line without a usable frequency, completed from its sig text: the timing, as needed, maximums and
    /// route come from the text; the structured dose stays. A text that cannot be read, or that gives another amount
    /// in the same unit, is not used: the reason says so.
    /// </summary>
    private static (DosageFact? Line, string? Reason) FromText(DosageFact line, SigParseResult parsed)
    {
        var quoted = $"\"{line.Text}\"";
        if (parsed.Dosages.Count != 1 || parsed.Unparsed is not null)
        {
            return (null, parsed.Dosages.Count > 1
                ? $"no structured frequency was given, and the sig {quoted} has several dosage lines"
                : $"no structured frequency was given, and the sig {quoted} could not be read{NotUnderstood(parsed)}");
        }

        var text = parsed.Dosages[0];
        if (text.Timing is null && !(text.AsNeeded && text.MaxDosePerPeriod is not null))
        {
            return (null, $"no frequency was given (neither structured nor in the sig {quoted})");
        }

        var structured = line.Dose ?? line.DoseRangeHigh;
        var fromText = text.Dose ?? text.DoseRangeHigh;
        if (structured is not null && fromText is not null && (structured.Code ?? structured.Unit) == (fromText.Code ?? fromText.Unit)
            && structured.Value != fromText.Value)
        {
            return (null, $"the structured dose ({structured}) and the sig {quoted} give different amounts");
        }

        return (line with
        {
            Timing = text.Timing,
            AsNeeded = line.AsNeeded || text.AsNeeded,
            MaxDosePerPeriod = line.MaxDosePerPeriod ?? text.MaxDosePerPeriod,
            MaxDosePerAdministration = line.MaxDosePerAdministration ?? text.MaxDosePerAdministration,
            Route = line.Route ?? text.Route,
            ParsedFromText = true,
        }, null);
    }

    private sealed record LineResult(decimal MgPerDay, bool UpTo, IReadOnlyList<DoseDerivation> Derivations, string Calculation, string? Unknown)
    {
        public static LineResult Fail(string reason) => new(0, false, [], "", reason);
    }

    private LineResult CalculateLine(RecognizedMedication medication, DosageFact line)
    {
        var derivations = new List<DoseDerivation>();
        if (line.ParsedFromText)
        {
            derivations.Add(DoseDerivation.ParsedText);
        }

        var upTo = false;
        var dose = line.Dose;
        var rangePrefix = "";
        if (dose is null && line.DoseRangeHigh is not null)
        {
            // doseRange: the most the sig allows is its high end.
            dose = line.DoseRangeHigh;
            upTo = true;
            rangePrefix = "up to ";
            derivations.Add(DoseDerivation.RangeHighEnd);
        }

        var cap = MaxPerDay(medication, line, derivations);
        if (dose is null)
        {
            // "as needed, no more than 4 mg a day" with no dose: the day's maximum is what the sig allows.
            if (line.AsNeeded && cap is { } onlyCap)
            {
                derivations.Add(DoseDerivation.PrnMaximum);
                return Plausible(new LineResult(onlyCap.MgPerDay, true, WithStructured(derivations), $"as needed: at most {onlyCap.Text}", null));
            }

            return LineResult.Fail(line.Text is null ? "the dosage has no dose" : $"the dosage \"{line.Text}\" has no dose");
        }

        var perAdministration = ToMilligrams(medication, dose, derivations, out var doseText);
        if (perAdministration is null)
        {
            return LineResult.Fail($"the dose unit \"{dose.Unit ?? dose.Code ?? "(none)"}\" could not be converted to mg{StrengthHint(medication, dose)}");
        }

        if (perAdministration <= 0 || perAdministration > MaxPlausibleMgPerAdministration)
        {
            // A negative dose would cancel another medication's; an absurd one is a data error, not a dose.
            return LineResult.Fail($"the dose {doseText} is not a plausible amount");
        }

        doseText = rangePrefix + doseText;
        if (line.MaxDosePerAdministration is { } maxPerAdmin
            && ToMilligrams(medication, maxPerAdmin, [], out var maxAdminText) is { } maxAdminMg && maxAdminMg < perAdministration)
        {
            perAdministration = maxAdminMg;
            doseText = $"{maxAdminText} (the most per dose)";
        }

        var frequency = AdministrationsPerDay(line.Timing, Vocabulary, out var frequencyText, out var frequencyIsMax);
        if (frequencyIsMax)
        {
            // frequencyMax / periodMax: the most doses the timing allows.
            upTo = true;
            derivations.Add(DoseDerivation.FrequencyMaximum);
            frequencyText = $"up to {frequencyText}";
        }

        if (frequency is not null && (frequency <= 0 || frequency > MaxPlausibleAdministrationsPerDay))
        {
            return LineResult.Fail($"the frequency ({frequencyText}) is not a plausible number of doses per day");
        }

        decimal mgPerDay;
        string calculation;
        if (frequency is not null)
        {
            mgPerDay = perAdministration.Value * frequency.Value;
            calculation = $"{doseText} x {frequencyText}";
        }
        else if (line.AsNeeded && cap is { } prnCap)
        {
            mgPerDay = prnCap.MgPerDay;
            calculation = $"at most {prnCap.Text}";
        }
        else if (line.Timing is { EventCount: > 1 })
        {
            return LineResult.Fail($"the dosage lists {line.Timing.EventCount} scheduled times, and their dates are not available to count doses per day");
        }
        else
        {
            return LineResult.Fail(line.AsNeeded
                ? $"as needed with no frequency or maximum dose{Quoted(line)}"
                : $"no frequency was given{Quoted(line)}");
        }

        // maxDosePerPeriod bounds what any sig allows, scheduled or as needed.
        if (cap is { } max && max.MgPerDay < mgPerDay)
        {
            mgPerDay = max.MgPerDay;
            calculation += $", capped at {max.Text}";
        }

        if (line.AsNeeded)
        {
            upTo = true;
            derivations.Add(DoseDerivation.PrnMaximum);
            calculation = $"as needed: {calculation}";
        }

        return Plausible(new LineResult(mgPerDay, upTo, WithStructured(derivations), calculation, null));
    }

    private static string Quoted(DosageFact line) => line.Text is null ? "" : $" (\"{line.Text}\")";

    /// <summary>Every computed dose says how it was derived: when nothing came from text or a product, it was structured.</summary>
    private static List<DoseDerivation> WithStructured(List<DoseDerivation> derivations)
    {
        if (!derivations.Contains(DoseDerivation.ParsedText) && !derivations.Contains(DoseDerivation.ProductStrength))
        {
            derivations.Insert(0, DoseDerivation.Structured);
        }

        return Distinct(derivations);
    }

    /// <summary>The derivations without repeats, in the order first given (as Enumerable.Distinct).</summary>
    private static List<DoseDerivation> Distinct(List<DoseDerivation> derivations)
    {
        var result = new List<DoseDerivation>(derivations.Count);
        foreach (var d in derivations)
        {
            if (!result.Contains(d))
            {
                result.Add(d);
            }
        }

        return result;
    }

    private static (decimal MgPerDay, string Text)? MaxPerDay(RecognizedMedication medication, DosageFact line, List<DoseDerivation> derivations)
    {
        if (line.MaxDosePerPeriod is not { } ratio)
        {
            return null;
        }

        var used = new List<DoseDerivation>();
        var mg = ToMilligrams(medication, ratio.Numerator, used, out var text);
        var days = PeriodInDays(ratio.Denominator.Value, ratio.Denominator.Code ?? ratio.Denominator.Unit);
        if (mg is null || days is null or 0)
        {
            return null;
        }

        derivations.AddRange(used);
        return (mg.Value / days.Value, $"{text} per {ratio.Denominator}");
    }

    /// <summary>Converts a dose to mg: mass units directly; counts and volumes through the product's strength.</summary>
    internal static decimal? ToMilligrams(RecognizedMedication medication, QuantityFact dose, List<DoseDerivation> derivations, out string text)
    {
        ArgumentNullException.ThrowIfNull(dose);
        ArgumentNullException.ThrowIfNull(derivations);
        var unit = (dose.Code ?? dose.Unit ?? "").Trim();
        var unitText = (dose.Unit ?? dose.Code ?? "").Trim();
        text = $"{Format(dose.Value)} {unitText}".TrimEnd();
        if ((MassFactor(unit) ?? MassFactor(unitText)) is { } factor)
        {
            return dose.Value * factor;
        }

        if (IsCountUnit(unit) || IsCountUnit(unitText))
        {
            var strength = StrengthPerUnit(medication);
            if (strength is null)
            {
                return null;
            }

            derivations.Add(DoseDerivation.ProductStrength);
            text = $"{text} x {Format(strength.Value.Mg)} mg ({strength.Value.Source})";
            return dose.Value * strength.Value.Mg;
        }

        if (IsVolumeUnit(unit) || IsVolumeUnit(unitText))
        {
            var concentration = StrengthPerMl(medication);
            if (concentration is null)
            {
                return null;
            }

            derivations.Add(DoseDerivation.ProductStrength);
            text = $"{text} x {Format(concentration.Value.Mg)} mg/mL ({concentration.Value.Source})";
            return dose.Value * concentration.Value.Mg;
        }

        return null;
    }

    private static string StrengthHint(RecognizedMedication medication, QuantityFact dose)
    {
        var unit = dose.Code ?? dose.Unit;
        if (IsCountUnit(unit) || IsCountUnit(dose.Unit))
        {
            return StrengthPerUnit(medication) is null ? " (no strength per unit is known for this product)" : "";
        }

        if (IsVolumeUnit(unit) || IsVolumeUnit(dose.Unit))
        {
            return StrengthPerMl(medication) is null ? " (no concentration in mg/mL is known for this product)" : "";
        }

        return "";
    }

    /// <summary>
    /// mg per tablet/capsule/spray: from Medication.ingredient.strength, the RxNorm product code (whose supplement
    /// gives the benzodiazepine component of a combination), or the display/text.
    /// </summary>
    private static (decimal Mg, string Source)? StrengthPerUnit(RecognizedMedication medication)
    {
        if (IngredientStrength(medication, IsCountUnit) is { } fromIngredient)
        {
            return (fromIngredient, "ingredient strength");
        }

        if (medication.Product?.StrengthMg is { } productStrength)
        {
            return (productStrength, medication.Product.CodeLabel);
        }

        return StrengthFromText(medication, perMl: false) is { } fromText ? (fromText, "strength in the product name") : null;
    }

    private static (decimal Mg, string Source)? StrengthPerMl(RecognizedMedication medication)
    {
        if (IngredientStrength(medication, IsVolumeUnit) is { } fromIngredient)
        {
            return (fromIngredient, "ingredient strength");
        }

        if (medication.Product?.StrengthMgPerMl is { } productStrength)
        {
            return (productStrength, medication.Product.CodeLabel);
        }

        return StrengthFromText(medication, perMl: true) is { } fromText ? (fromText, "strength in the product name") : null;
    }

    /// <summary>
    /// The strength of our ingredient in a contained Medication. With several ingredients (a combination product),
    /// only the one whose code or name is ours counts; a lone ingredient that names another drug does not count.
    /// </summary>
    private static decimal? IngredientStrength(RecognizedMedication medication, Func<string?, bool> denominatorIs)
    {
        var candidates = medication.Fact.Ingredients
            .Where(i => i.Strength is { } r && MassFactor(r.Numerator.Code ?? r.Numerator.Unit) is not null
                && (denominatorIs(r.Denominator.Code) || denominatorIs(r.Denominator.Unit)) && r.Denominator.Value > 0)
            .ToList();
        var ours = candidates.Where(i => IsOurIngredient(medication.Ingredient, i)).ToList();
        if (ours.Count == 0 && medication.Fact.Ingredients.Count == 1 && candidates.Count == 1
            && candidates[0].Codes.Count == 0 && string.IsNullOrWhiteSpace(candidates[0].Text))
        {
            // A single, unnamed ingredient of a medication already recognized as ours.
            ours = candidates;
        }

        if (ours.Count != 1)
        {
            return null;
        }

        var ratio = ours[0].Strength!;
        return ratio.Numerator.Value * MassFactor(ratio.Numerator.Code ?? ratio.Numerator.Unit)!.Value / ratio.Denominator.Value;
    }

    private static bool IsOurIngredient(Ingredient ingredient, IngredientStrengthFact fact) =>
        fact.Codes.Any(c => c.Code is not null && ingredient.RxNormCodes.Contains(c.Code.Trim()))
        || fact.Codes.Select(c => c.Display).Append(fact.Text).Any(t => t is not null && NameAt(t, NamesOf(ingredient)).Any());

    private static List<string> NamesOf(Ingredient ingredient) =>
        ingredient.Names.Append(ingredient.Name).Distinct(StringComparer.OrdinalIgnoreCase).OrderByDescending(n => n.Length).ToList();

    /// <summary>Where each of the names occurs in the text as a whole word: the index just past the name.</summary>
    private static IEnumerable<int> NameAt(string text, List<string> names)
    {
        foreach (var name in names)
        {
            var from = 0;
            while (from < text.Length)
            {
                var at = text.IndexOf(name, from, StringComparison.OrdinalIgnoreCase);
                if (at < 0)
                {
                    break;
                }

                var end = at + name.Length;
                if ((at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end])))
                {
                    yield return end;
                }

                from = at + 1;
            }
        }
    }

    /// <summary>
    /// Strength written in a product name, as RxNorm writes it: "lorazepam 2 MG/ML Oral Solution", "chlordiazepoxide
    /// hydrochloride 5 MG / clidinium bromide 2.5 MG Oral Capsule". Only a strength right after our ingredient's name
    /// (and at most one salt word) counts, so a combination's other ingredient is never read as ours. Texts that
    /// disagree (a titration pack lists several strengths) give no strength at all rather than a guess.
    /// </summary>
    private static decimal? StrengthFromText(RecognizedMedication medication, bool perMl)
    {
        var names = NamesOf(medication.Ingredient);
        var texts = medication.Fact.Texts
            .Concat(medication.Fact.Codes.Select(c => c.Display))
            .Concat(medication.Fact.Dosages.Select(d => d.Text))
            .Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => t!);
        var found = new HashSet<decimal>();
        foreach (var text in texts)
        {
            foreach (var end in NameAt(text, names))
            {
                if (ReadStrength(text, end) is { } strength && strength.PerMl == perMl)
                {
                    found.Add(strength.Mg);
                }
            }
        }

        return found.Count == 1 ? found.First() : null;
    }

    /// <summary>Reads "[salt] 0.5 MG", "2 MG/ML", "1mg" starting just past a drug name; null when none is there.</summary>
    private static (decimal Mg, bool PerMl)? ReadStrength(string text, int i)
    {
        static int SkipSpaces(string s, int k)
        {
            while (k < s.Length && char.IsWhiteSpace(s[k]))
            {
                k++;
            }

            return k;
        }

        var k = SkipSpaces(text, i);
        if (k < text.Length && char.IsLetter(text[k]))
        {
            // One salt word: "hydrochloride", "HCl", "dipotassium".
            var wordStart = k;
            while (k < text.Length && char.IsLetter(text[k]))
            {
                k++;
            }

            if (Units(text[wordStart..k]) is not null)
            {
                return null;
            }

            k = SkipSpaces(text, k);
        }

        var numberStart = k;
        while (k < text.Length && (char.IsDigit(text[k]) || (text[k] == '.' && k + 1 < text.Length && char.IsDigit(text[k + 1]))))
        {
            k++;
        }

        if (k == numberStart || !decimal.TryParse(text[numberStart..k], NumberStyles.AllowDecimalPoint, Inv, out var value))
        {
            return null;
        }

        k = SkipSpaces(text, k);
        var unitStart = k;
        while (k < text.Length && (char.IsLetter(text[k]) || text[k] == 'µ'))
        {
            k++;
        }

        if (Units(text[unitStart..k]) is not { } factor)
        {
            return null;
        }

        var perMl = false;
        var afterUnit = SkipSpaces(text, k);
        if (afterUnit < text.Length && text[afterUnit] == '/')
        {
            var denominator = SkipSpaces(text, afterUnit + 1);
            if (denominator < text.Length && char.IsDigit(text[denominator]))
            {
                // "1 MG / 0.5 ML": a volume other than 1 mL is not read.
                return null;
            }

            var denominatorEnd = denominator;
            while (denominatorEnd < text.Length && char.IsLetter(text[denominatorEnd]))
            {
                denominatorEnd++;
            }

            // "2 MG/ML" is a concentration; "5 MG / clidinium bromide 2.5 MG" separates a combination's ingredients.
            perMl = IsVolumeUnit(text[denominator..denominatorEnd]);
        }

        return (value * factor, perMl);

        static decimal? Units(string unit) => MassFactor(unit);
    }

    internal static decimal? MassFactor(string? unit) => unit?.Trim().ToLowerInvariant() switch
    {
        "mg" or "milligram" or "milligrams" => 1m,
        "ug" or "mcg" or "µg" or "microgram" or "micrograms" => 0.001m,
        "g" or "gram" or "grams" => 1000m,
        "ng" or "nanogram" or "nanograms" => 0.000001m,
        _ => null,
    };

    internal static bool IsCountUnit(string? unit) => unit?.Trim().ToLowerInvariant() switch
    {
        "tab" or "tabs" or "tablet" or "tablets" or "{tbl}" or "{tablet}" or "{tablets}" => true,
        "cap" or "caps" or "capsule" or "capsules" or "{capsule}" or "{cap}" => true,
        "spray" or "sprays" or "{spray}" or "{sprays}" or "actuat" or "{actuat}" or "puff" or "{puff}" => true,
        "each" or "ea" or "{each}" or "unit" or "1" or "{dose}" or "dose" or "lozenge" or "film" or "suppository" => true,
        _ => false,
    };

    internal static bool IsVolumeUnit(string? unit) => unit?.Trim().ToLowerInvariant() is "ml" or "milliliter" or "milliliters" or "millilitre" or "cc";

    /// <summary>
    /// Administrations per day from FHIR Timing. repeat.frequency(Max) per period (the shorter period when a range
    /// is given: the most doses the sig allows); else the number of when/timeOfDay entries (each once a day); else
    /// timing.code, read as HL7 v3 GTSAbbreviation (terminology.hl7.org CodeSystem v3-GTSAbbreviation).
    /// </summary>
    internal static decimal? AdministrationsPerDay(TimingFact? timing, SigVocabulary vocabulary, out string text, out bool isMaximum) =>
        AdministrationsPerDay(timing, vocabulary, describe: true, out text, out isMaximum);

    /// <param name="describe">False when only the number is wanted: <paramref name="text"/> is then left empty.</param>
    private static decimal? AdministrationsPerDay(TimingFact? timing, SigVocabulary vocabulary, bool describe, out string text, out bool isMaximum)
    {
        text = "";
        isMaximum = false;
        if (timing is null)
        {
            return null;
        }

        if (timing.Frequency is not null || timing.Period is not null)
        {
            var frequency = timing.FrequencyMax ?? timing.Frequency ?? 1;
            isMaximum = timing.FrequencyMax is not null || timing.PeriodMax is not null;
            var periodDays = timing.Period is { } period ? PeriodInDays(period, timing.PeriodUnit) : null;
            if (periodDays is null or <= 0)
            {
                return null;
            }

            var perDay = frequency / periodDays.Value;
            if (Math.Max(timing.WhenCount, timing.TimeOfDayCount) > 1 && periodDays == 1m && perDay < Math.Max(timing.WhenCount, timing.TimeOfDayCount))
            {
                // "frequency 1 per day, when morning and bedtime": EHRs differ; the named times are counted, so a
                // benzodiazepine is never undercounted.
                perDay = Math.Max(timing.WhenCount, timing.TimeOfDayCount);
            }
            else if (timing.Frequency is null && Math.Max(timing.WhenCount, timing.TimeOfDayCount) > 1)
            {
                // "every day at morning and bedtime": each named time is one administration.
                perDay *= Math.Max(timing.WhenCount, timing.TimeOfDayCount);
            }

            text = describe ? $"{Format(Round(perDay))}/day" : "";
            return perDay;
        }

        if (timing.WhenCount > 0 || timing.TimeOfDayCount > 0)
        {
            var count = Math.Max(timing.WhenCount, timing.TimeOfDayCount);
            text = describe ? $"{count}/day" : "";
            return count;
        }

        // timing.code's codings in order, then its text.
        for (var i = 0; i <= timing.Codes.Count; i++)
        {
            var code = i < timing.Codes.Count ? timing.Codes[i].Code : timing.CodeText;
            if (code is not null && GtsPerDay(code, vocabulary) is { } perDay)
            {
                text = describe ? $"{Format(perDay)}/day ({code.Trim().ToUpperInvariant()})" : "";
                return perDay;
            }
        }

        if (timing.EventCount == 1)
        {
            // timing.event: a single scheduled administration is one dose that day. Several events need their dates
            // to be grouped by day, which the facts do not carry; the caller reports that as unknown.
            text = "1 scheduled administration";
            return 1m;
        }

        return null;
    }

    /// <summary>
    /// timing.code as administrations per day: HL7 v3 GTSAbbreviation codes and the one-word spellings EHRs send
    /// (QHS, Q12H), from the sig vocabulary's frequency concepts (frequency / period).
    /// </summary>
    internal static decimal? GtsPerDay(string code, SigVocabulary vocabulary) =>
        vocabulary.FrequencyByCode(code) is { Frequency: { } frequency, Period: { } period, PeriodUnit: var unit }
            && PeriodInDays(period, unit) is { } days and > 0
            ? frequency / days
            : null;

    internal static decimal? PeriodInDays(decimal period, string? unit) => unit?.Trim().ToLowerInvariant() switch
    {
        "s" => period / 86400m,
        "min" => period / 1440m,
        "h" or "hr" or "hour" or "hours" => period / 24m,
        "d" or "day" or "days" => period,
        "wk" or "week" or "weeks" => period * 7m,
        "mo" or "month" or "months" => period * 30m,
        "a" or "year" or "years" => period * 365m,
        _ => null,
    };

    /// <summary>Rounds to 0.001 mg and drops trailing zeros, so 3.000 reads (and serializes) as 3.</summary>
    internal static decimal Round(decimal value) => Math.Round(value, 3, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000000000m;

    internal static string Format(decimal value) => Round(value).ToString("0.###", Inv);
}
