using System.Globalization;
using System.Text.RegularExpressions;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Dosing;

/// <summary>
/// Computes a medication's daily dose in mg/day from its dosage lines: a dose per administration (mass, or a count
/// times the product's strength) times administrations per day (timing.repeat, when/timeOfDay, timing.code), summed
/// over concurrent lines. Whatever cannot be computed is an explicit unknown with its reason, never zero.
/// </summary>
public sealed partial class DailyDoseCalculator(ISigTextParser sigParser)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public DailyDose Calculate(RecognizedMedication medication)
    {
        ArgumentNullException.ThrowIfNull(medication);
        var fact = medication.Fact;
        var lines = fact.Dosages.ToList();

        // Lines with nothing structured to count but a text sig are read by the sig parser.
        var expanded = new List<DosageFact>();
        foreach (var line in lines)
        {
            if (line.Dose is null && line.DoseRangeHigh is null && !string.IsNullOrWhiteSpace(line.Text))
            {
                var parsed = sigParser.Parse(line.Text);
                if (parsed.Dosages.Count == 0 || parsed.Unparsed is not null)
                {
                    return DailyDose.Unknown($"the sig \"{line.Text}\" could not be read{(parsed.Unparsed is null ? "" : $" (not understood: \"{parsed.Unparsed}\")")}");
                }

                expanded.AddRange(parsed.Dosages.Select(d => d with { Route = d.Route ?? line.Route }));
            }
            else
            {
                expanded.Add(line);
            }
        }

        if (expanded.Count == 0)
        {
            // No dosage at all: the medication text itself may carry a sig ("clonazepam 0.5 mg tid").
            var text = fact.Texts.FirstOrDefault(t => !string.IsNullOrWhiteSpace(t));
            if (text is not null)
            {
                var parsed = sigParser.Parse(text);
                if (parsed.Dosages.Count > 0 && parsed.Unparsed is null)
                {
                    expanded.AddRange(parsed.Dosages);
                }
            }

            if (expanded.Count == 0)
            {
                return DailyDose.Unknown("no dosage was given");
            }
        }

        decimal total = 0, scheduled = 0;
        var anyPrn = false;
        var upTo = false;
        var derivations = new List<DoseDerivation>();
        var parts = new List<string>();
        foreach (var line in expanded)
        {
            var result = CalculateLine(medication, line);
            if (result.Unknown is not null)
            {
                return DailyDose.Unknown(result.Unknown);
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
            Derivations = derivations.Distinct().ToList(),
            Calculation = string.Join(" + ", parts),
        };
    }

    private sealed record LineResult(decimal MgPerDay, bool UpTo, IReadOnlyList<DoseDerivation> Derivations, string Calculation, string? Unknown)
    {
        public static LineResult Fail(string reason) => new(0, false, [], "", reason);
    }

    private static LineResult CalculateLine(RecognizedMedication medication, DosageFact line)
    {
        var derivations = new List<DoseDerivation>();
        if (line.ParsedFromText)
        {
            derivations.Add(DoseDerivation.ParsedText);
        }

        var upTo = false;
        var dose = line.Dose;
        if (dose is null && line.DoseRangeHigh is not null)
        {
            dose = line.DoseRangeHigh;
            upTo = true;
            derivations.Add(DoseDerivation.RangeHighEnd);
        }

        if (dose is null)
        {
            return LineResult.Fail(line.Text is null ? "the dosage has no dose" : $"the dosage \"{line.Text}\" has no dose");
        }

        var perAdministration = ToMilligrams(medication, dose, derivations, out var doseText);
        if (perAdministration is null)
        {
            return LineResult.Fail($"the dose unit \"{dose.Unit ?? dose.Code ?? "(none)"}\" could not be converted to mg{StrengthHint(medication)}");
        }

        if (line.MaxDosePerAdministration is { } maxPerAdmin
            && ToMilligrams(medication, maxPerAdmin, [], out _) is { } maxAdminMg && maxAdminMg < perAdministration)
        {
            perAdministration = maxAdminMg;
        }

        var frequency = AdministrationsPerDay(line.Timing, out var frequencyText, out var frequencyIsMax);
        upTo |= frequencyIsMax;
        decimal mgPerDay;
        string calculation;
        if (frequency is not null)
        {
            mgPerDay = perAdministration.Value * frequency.Value;
            calculation = $"{doseText} x {frequencyText}";
        }
        else if (line.AsNeeded && MaxPerDay(medication, line) is { } cap)
        {
            mgPerDay = cap.MgPerDay;
            calculation = $"as needed, at most {cap.Text}";
        }
        else
        {
            return LineResult.Fail(line.AsNeeded
                ? "as needed with no frequency or maximum dose"
                : "no frequency was given");
        }

        if (line.AsNeeded)
        {
            upTo = true;
            derivations.Add(DoseDerivation.PrnMaximum);
            if (MaxPerDay(medication, line) is { } max && max.MgPerDay < mgPerDay)
            {
                mgPerDay = max.MgPerDay;
                calculation += $", capped at {max.Text}";
            }

            calculation = $"as needed: {calculation}";
        }

        if (derivations.Count == 0 || derivations.All(d => d is DoseDerivation.RangeHighEnd or DoseDerivation.PrnMaximum))
        {
            derivations.Insert(0, DoseDerivation.Structured);
        }

        return new LineResult(mgPerDay, upTo, derivations, calculation, null);
    }

    private static (decimal MgPerDay, string Text)? MaxPerDay(RecognizedMedication medication, DosageFact line)
    {
        if (line.MaxDosePerPeriod is not { } ratio)
        {
            return null;
        }

        var mg = ToMilligrams(medication, ratio.Numerator, [], out var text);
        var days = PeriodInDays(ratio.Denominator.Value, ratio.Denominator.Code ?? ratio.Denominator.Unit);
        if (mg is null || days is null or 0)
        {
            return null;
        }

        return (mg.Value / days.Value, $"{text} per {ratio.Denominator}");
    }

    /// <summary>Converts a dose to mg: mass units directly; counts and volumes through the product's strength.</summary>
    internal static decimal? ToMilligrams(RecognizedMedication medication, QuantityFact dose, List<DoseDerivation> derivations, out string text)
    {
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
            text = $"{text} x {Format(strength.Value)} mg";
            return dose.Value * strength.Value;
        }

        if (IsVolumeUnit(unit) || IsVolumeUnit(unitText))
        {
            var concentration = StrengthPerMl(medication);
            if (concentration is null)
            {
                return null;
            }

            derivations.Add(DoseDerivation.ProductStrength);
            text = $"{text} x {Format(concentration.Value)} mg/mL";
            return dose.Value * concentration.Value;
        }

        return null;
    }

    private static string StrengthHint(RecognizedMedication medication) =>
        StrengthPerUnit(medication) is null && StrengthPerMl(medication) is null ? " (no product strength is known for this entry)" : "";

    /// <summary>mg per tablet/capsule/spray: from Medication.ingredient.strength, the product code, or the display.</summary>
    private static decimal? StrengthPerUnit(RecognizedMedication medication)
    {
        foreach (var ingredient in medication.Fact.Ingredients)
        {
            if (ingredient.Strength is { } ratio && MassFactor(ratio.Numerator.Code ?? ratio.Numerator.Unit) is { } factor
                && (IsCountUnit(ratio.Denominator.Code) || IsCountUnit(ratio.Denominator.Unit)) && ratio.Denominator.Value > 0)
            {
                return ratio.Numerator.Value * factor / ratio.Denominator.Value;
            }
        }

        if (medication.Product?.StrengthMg is { } productStrength)
        {
            return productStrength;
        }

        return StrengthFromText(medication, perMl: false);
    }

    private static decimal? StrengthPerMl(RecognizedMedication medication)
    {
        foreach (var ingredient in medication.Fact.Ingredients)
        {
            if (ingredient.Strength is { } ratio && MassFactor(ratio.Numerator.Code ?? ratio.Numerator.Unit) is { } factor
                && (IsVolumeUnit(ratio.Denominator.Code) || IsVolumeUnit(ratio.Denominator.Unit)) && ratio.Denominator.Value > 0)
            {
                return ratio.Numerator.Value * factor / ratio.Denominator.Value;
            }
        }

        if (medication.Product?.StrengthMgPerMl is { } productStrength)
        {
            return productStrength;
        }

        return StrengthFromText(medication, perMl: true);
    }

    /// <summary>
    /// Strength written in a product name, as RxNorm writes it: "lorazepam 2 MG/ML Oral Solution", "clonazepam 0.5 MG
    /// Oral Tablet". Only a strength next to our ingredient's name counts, so a combination product's other
    /// ingredient is never read as ours.
    /// </summary>
    private static decimal? StrengthFromText(RecognizedMedication medication, bool perMl)
    {
        var names = medication.Ingredient.Names.Append(medication.Ingredient.Name).ToList();
        foreach (var text in medication.Fact.Texts.Concat(medication.Fact.Codes.Select(c => c.Display)).Where(t => t is not null))
        {
            foreach (Match match in StrengthPattern().Matches(text!))
            {
                var before = text![..match.Index];
                var nameNearby = names.Any(n => before.EndsWith(n, StringComparison.OrdinalIgnoreCase)
                    || Regex.IsMatch(before, Regex.Escape(n) + @"(\s+\p{L}+)?\s*$", RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50)));
                if (!nameNearby)
                {
                    continue;
                }

                var isPerMl = match.Groups["perml"].Success;
                if (isPerMl == perMl && MassFactor(match.Groups["unit"].Value) is { } factor
                    && decimal.TryParse(match.Groups["value"].Value, NumberStyles.Number, Inv, out var value))
                {
                    return value * factor;
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"\s(?<value>\d+(?:\.\d+)?)\s*(?<unit>mg|mcg|ug|g)(?<perml>\s*/\s*ml)?(?![a-z])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 100)]
    private static partial Regex StrengthPattern();

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
    internal static decimal? AdministrationsPerDay(TimingFact? timing, out string text, out bool isMaximum)
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
            if (timing.Frequency is null && Math.Max(timing.WhenCount, timing.TimeOfDayCount) > 1)
            {
                // "every day at morning and bedtime": each named time is one administration.
                perDay *= Math.Max(timing.WhenCount, timing.TimeOfDayCount);
            }

            text = $"{Format(Round(perDay))}/day";
            return perDay;
        }

        if (timing.WhenCount > 0 || timing.TimeOfDayCount > 0)
        {
            var count = Math.Max(timing.WhenCount, timing.TimeOfDayCount);
            text = $"{count}/day";
            return count;
        }

        foreach (var code in timing.Codes.Select(c => c.Code).Append(timing.CodeText))
        {
            if (code is not null && GtsPerDay(code) is { } perDay)
            {
                text = $"{Format(perDay)}/day ({code.Trim().ToUpperInvariant()})";
                return perDay;
            }
        }

        if (timing.EventCount > 0)
        {
            text = $"{timing.EventCount} scheduled";
            return null;
        }

        return null;
    }

    /// <summary>HL7 v3 GTSAbbreviation codes (and the common spellings EHRs send) as administrations per day.</summary>
    internal static decimal? GtsPerDay(string code) => code.Trim().ToUpperInvariant().Replace(".", "", StringComparison.Ordinal) switch
    {
        "QD" or "DAILY" or "QDAY" or "Q24H" or "AM" or "QAM" or "PM" or "QPM" or "BED" or "HS" or "QHS" or "QN" => 1m,
        "BID" or "Q12H" => 2m,
        "TID" or "Q8H" => 3m,
        "QID" or "Q6H" => 4m,
        "QOD" or "Q48H" => 0.5m,
        "Q1H" => 24m,
        "Q2H" => 12m,
        "Q3H" => 8m,
        "Q4H" => 6m,
        "WK" or "QWK" => 1m / 7m,
        "MO" => 1m / 30m,
        _ => null,
    };

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

    internal static decimal Round(decimal value) => Math.Round(value, 3, MidpointRounding.AwayFromZero);

    internal static string Format(decimal value) => Round(value).ToString("0.###", Inv);
}
