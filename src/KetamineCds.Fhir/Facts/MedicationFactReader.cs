using System.Globalization;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Fhir.Facts;

/// <summary>
/// Flattens MedicationStatement and MedicationRequest into <see cref="MedicationFact"/>. Coded values are read raw
/// (ObjectValue), so an unknown code the tolerant parser kept never throws here.
/// </summary>
public static class MedicationFactReader
{
    /// <param name="medications">Medication resources included alongside (e.g. by _include), keyed "Medication/id",
    /// for a medicationReference that is not to a contained resource.</param>
    public static MedicationFact? Read(Resource resource, MedicationSource requestSource = MedicationSource.Request,
        IReadOnlyDictionary<string, Medication>? medications = null) => resource switch
    {
        MedicationStatement statement => FromStatement(statement, medications),
        MedicationRequest request => FromRequest(request, requestSource, medications),
        _ => null,
    };

    private static MedicationFact FromStatement(MedicationStatement statement, IReadOnlyDictionary<string, Medication>? medications)
    {
        var (codes, texts, ingredients) = ReadMedication(statement.Medication, statement.Contained, medications);
        var dosages = statement.Dosage.Where(d => d is not null).Select(ReadDosage).ToList();
        var (start, end) = ReadEffective(statement.Effective);
        return new MedicationFact
        {
            Reference = $"MedicationStatement/{statement.Id}",
            Source = MedicationSource.Statement,
            Status = Raw(statement.StatusElement) ?? "(missing)",
            Codes = codes,
            Texts = texts,
            Ingredients = ingredients,
            Dosages = dosages,
            Route = dosages.Select(d => d.Route).FirstOrDefault(r => r is not null),
            LinkedReferences = statement.BasedOn.Concat(statement.DerivedFrom).Select(r => r.Reference).OfType<string>().ToList(),
            EffectiveStart = start,
            EffectiveEnd = end,
        };
    }

    private static MedicationFact FromRequest(MedicationRequest request, MedicationSource source, IReadOnlyDictionary<string, Medication>? medications)
    {
        var (codes, texts, ingredients) = ReadMedication(request.Medication, request.Contained, medications);
        var dosages = request.DosageInstruction.Where(d => d is not null).Select(ReadDosage).ToList();
        var linked = request.BasedOn.Select(r => r.Reference);
        if (request.PriorPrescription?.Reference is { } prior)
        {
            linked = linked.Append(prior);
        }

        return new MedicationFact
        {
            Reference = $"MedicationRequest/{request.Id}",
            Source = source,
            Status = Raw(request.StatusElement) ?? "(missing)",
            Intent = Raw(request.IntentElement),
            Codes = codes,
            Texts = texts,
            Ingredients = ingredients,
            Dosages = dosages,
            Route = dosages.Select(d => d.Route).FirstOrDefault(r => r is not null),
            LinkedReferences = linked.OfType<string>().ToList(),
            // dispenseRequest.validityPeriod says until when it may be filled, not whether the patient still takes it.
            EffectiveStart = request.AuthoredOn is { } authored ? ParseDate(authored, endOfPeriod: false) : null,
        };
    }

    /// <summary>The included Medication a reference names: "Medication/id", or any reference ending in "/Medication/id"
    /// (an absolute URL); a version-specific reference, ".../_history/n", is not matched.</summary>
    private static Medication? Included(IReadOnlyDictionary<string, Medication>? medications, string reference)
    {
        if (medications is null || medications.Count == 0)
        {
            return null;
        }

        if (medications.TryGetValue(reference, out var medication))
        {
            return medication;
        }

        // https://server/fhir/Medication/id: the last two segments are the key.
        var last = reference.LastIndexOf('/');
        var typeStart = last > 0 ? reference.LastIndexOf('/', last - 1) : -1;
        return typeStart >= 0 && medications.TryGetValue(reference[(typeStart + 1)..], out medication) ? medication : null;
    }

    private static (List<CodeFact> Codes, List<string> Texts, List<IngredientStrengthFact> Ingredients) ReadMedication(
        DataType? medication, List<Resource> contained, IReadOnlyDictionary<string, Medication>? medications)
    {
        switch (medication)
        {
            case CodeableConcept concept:
                return (Codes(concept), Texts(concept), []);
            case ResourceReference reference:
            {
                var texts = new List<string>();
                if (!string.IsNullOrWhiteSpace(reference.Display))
                {
                    texts.Add(reference.Display);
                }

                var target = reference.Reference is { } r
                    ? r.StartsWith('#')
                        ? contained.OfType<Medication>().FirstOrDefault(m => m.Id == r[1..])
                        : Included(medications, r)
                    : null;
                if (target is null)
                {
                    return ([], texts, []);
                }

                var ingredients = target.Ingredient.Select(i => new IngredientStrengthFact(
                    i.Item is CodeableConcept c ? Codes(c) : [],
                    i.Item is CodeableConcept ct ? ct.Text : (i.Item as ResourceReference)?.Display,
                    i.Strength is { } s ? Ratio(s) : null)).ToList();
                var codes = target.Code is { } code ? Codes(code) : [];
                if (target.Code is { } named)
                {
                    texts.AddRange(Texts(named));
                }

                if (target.Form is { } form)
                {
                    texts.AddRange(Texts(form).Select(t => $"({t})"));
                }

                return (codes, texts, ingredients);
            }

            default:
                return ([], [], []);
        }
    }

    private static List<CodeFact> Codes(CodeableConcept concept) =>
        concept.Coding.Where(c => c is not null).Select(c => new CodeFact(c.System, c.Code, c.Display)).ToList();

    private static List<string> Texts(CodeableConcept concept)
    {
        var texts = new List<string>();
        if (!string.IsNullOrWhiteSpace(concept.Text))
        {
            texts.Add(concept.Text);
        }

        return texts;
    }

    private static DosageFact ReadDosage(Dosage dosage)
    {
        QuantityFact? dose = null, low = null, high = null;
        foreach (var doseAndRate in dosage.DoseAndRate.Where(d => d is not null))
        {
            switch (doseAndRate.Dose)
            {
                case Quantity q when dose is null:
                    dose = Quantity(q);
                    break;
                case Hl7.Fhir.Model.Range range when low is null && high is null:
                    low = range.Low is { } l ? Quantity(l) : null;
                    high = range.High is { } h ? Quantity(h) : null;
                    break;
            }
        }

        var asNeeded = dosage.AsNeeded switch
        {
            FhirBoolean b => b.Value == true,
            CodeableConcept => true,
            _ => false,
        };

        return new DosageFact
        {
            Text = dosage.Text,
            Dose = dose,
            DoseRangeLow = low,
            DoseRangeHigh = high,
            Timing = dosage.Timing is { } timing ? ReadTiming(timing) : null,
            AsNeeded = asNeeded,
            MaxDosePerPeriod = dosage.MaxDosePerPeriod is { } max ? Ratio(max) : null,
            MaxDosePerAdministration = dosage.MaxDosePerAdministration is { } perAdmin ? Quantity(perAdmin) : null,
            Route = dosage.Route is { } route ? RouteText(route) : null,
        };
    }

    private static string? RouteText(CodeableConcept route) =>
        route.Text ?? route.Coding.Select(c => c.Display ?? c.Code).FirstOrDefault(s => !string.IsNullOrWhiteSpace(s));

    private static TimingFact ReadTiming(Timing timing)
    {
        var repeat = timing.Repeat;
        DateTimeOffset? boundsEnd = repeat?.Bounds is Period p && p.End is { } end ? ParseDate(end, endOfPeriod: true) : null;
        return new TimingFact
        {
            Frequency = repeat?.Frequency,
            FrequencyMax = repeat?.FrequencyMax,
            Period = repeat?.Period,
            PeriodMax = repeat?.PeriodMax,
            PeriodUnit = Raw(repeat?.PeriodUnitElement),
            WhenCount = repeat?.WhenElement.Count ?? 0,
            TimeOfDayCount = repeat?.TimeOfDayElement.Count ?? 0,
            EventCount = timing.EventElement.Count,
            Codes = timing.Code is { } code ? Codes(code) : [],
            CodeText = timing.Code?.Text,
            BoundsEnd = boundsEnd,
        };
    }

    private static QuantityFact? Quantity(Quantity q) =>
        q.Value is { } value ? new QuantityFact(value, q.Unit, q.Code) : null;

    private static RatioFact? Ratio(Ratio r) =>
        r.Numerator is { } n && r.Denominator is { } d && Quantity(n) is { } num
            ? new RatioFact(num, Quantity(d) ?? new QuantityFact(1, d.Unit, d.Code))
            : null;

    private static (DateTimeOffset? Start, DateTimeOffset? End) ReadEffective(DataType? effective) => effective switch
    {
        Period period => (period.Start is { } s ? ParseDate(s, false) : null, period.End is { } e ? ParseDate(e, true) : null),
        FhirDateTime dateTime => (dateTime.Value is { } v ? ParseDate(v, false) : null, null),
        _ => (null, null),
    };

    /// <summary>A FHIR date or dateTime; a partial date ends at the end of its day when it closes a period.</summary>
    internal static DateTimeOffset? ParseDate(string value, bool endOfPeriod)
    {
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return endOfPeriod && value.Length <= 10 ? parsed.AddDays(1).AddTicks(-1) : parsed;
        }

        if (value.Length is 4 or 7 && DateTimeOffset.TryParse(value.Length == 4 ? value + "-01-01" : value + "-01",
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var partial))
        {
            return endOfPeriod ? (value.Length == 4 ? partial.AddYears(1) : partial.AddMonths(1)).AddTicks(-1) : partial;
        }

        return null;
    }

    private static string? Raw(PrimitiveType? element) => element?.JsonValue?.ToString();
}
