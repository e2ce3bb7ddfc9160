using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Clinical.Medications;

/// <summary>Where a medication entry came from.</summary>
public enum MedicationSource
{
    /// <summary>A MedicationStatement: what the patient reports taking.</summary>
    Statement,

    /// <summary>A MedicationRequest on the patient's record: a prescription.</summary>
    Request,

    /// <summary>A MedicationRequest in the hook's draftOrders: being ordered now.</summary>
    DraftOrder,
}

/// <summary>A code as the EHR sent it.</summary>
public sealed record CodeFact(string? System, string? Code, string? Display);

/// <summary>A quantity as the EHR sent it: the unit text and the UCUM code are both kept.</summary>
public sealed record QuantityFact(decimal Value, string? Unit, string? Code)
{
    public override string ToString() => $"{Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} {Unit ?? Code}".TrimEnd();
}

/// <summary>A ratio such as a concentration (2 mg / 1 mL).</summary>
public sealed record RatioFact(QuantityFact Numerator, QuantityFact Denominator);

/// <summary>The timing of a dosage line, flattened from FHIR Timing.</summary>
public sealed record TimingFact
{
    public int? Frequency { get; init; }
    public int? FrequencyMax { get; init; }
    public decimal? Period { get; init; }
    public decimal? PeriodMax { get; init; }
    public string? PeriodUnit { get; init; }
    public int WhenCount { get; init; }
    public int TimeOfDayCount { get; init; }
    public int EventCount { get; init; }
    public IReadOnlyList<CodeFact> Codes { get; init; } = [];
    public string? CodeText { get; init; }
    public DateTimeOffset? BoundsEnd { get; init; }
}

/// <summary>One dosage line, flattened from FHIR Dosage.</summary>
public sealed record DosageFact
{
    public string? Text { get; init; }
    public QuantityFact? Dose { get; init; }
    public QuantityFact? DoseRangeLow { get; init; }
    public QuantityFact? DoseRangeHigh { get; init; }
    public TimingFact? Timing { get; init; }
    public bool AsNeeded { get; init; }
    public RatioFact? MaxDosePerPeriod { get; init; }
    public QuantityFact? MaxDosePerAdministration { get; init; }
    public string? Route { get; init; }

    /// <summary>True when this line was read from free text by the sig parser rather than sent structured.</summary>
    public bool ParsedFromText { get; init; }
}

/// <summary>The strength of an ingredient in a contained or referenced Medication.</summary>
public sealed record IngredientStrengthFact(IReadOnlyList<CodeFact> Codes, string? Text, RatioFact? Strength);

/// <summary>
/// A medication entry from the patient's record (or the draft orders), as plain data.
/// The FHIR edge builds these; the rules never see FHIR objects.
/// </summary>
public sealed record MedicationFact
{
    /// <summary>A reference such as "MedicationStatement/abc", used to name the entry on a card.</summary>
    public required string Reference { get; init; }
    public required MedicationSource Source { get; init; }
    public required string Status { get; init; }
    public string? Intent { get; init; }
    public IReadOnlyList<CodeFact> Codes { get; init; } = [];
    public IReadOnlyList<string> Texts { get; init; } = [];
    public IReadOnlyList<DosageFact> Dosages { get; init; } = [];
    public IReadOnlyList<IngredientStrengthFact> Ingredients { get; init; } = [];
    public string? Route { get; init; }

    /// <summary>Other entries this one says it is based on or derived from (basedOn, derivedFrom, priorPrescription).</summary>
    public IReadOnlyList<string> LinkedReferences { get; init; } = [];
    public DateTimeOffset? EffectiveEnd { get; init; }
    public DateTimeOffset? EffectiveStart { get; init; }

    /// <summary>
    /// The name the record itself gives: text, else the first coding display, else an ingredient's text or display
    /// (of a contained or included Medication). Null when the record names nothing and only carries codes.
    /// </summary>
    public string? Name
    {
        get
        {
            foreach (var text in Texts)
            {
                if (!string.IsNullOrWhiteSpace(text))
                {
                    return text;
                }
            }

            if (FirstDisplay(Codes) is { } display)
            {
                return display;
            }

            foreach (var ingredient in Ingredients)
            {
                if (!string.IsNullOrWhiteSpace(ingredient.Text))
                {
                    return ingredient.Text;
                }
            }

            foreach (var ingredient in Ingredients)
            {
                if (FirstDisplay(ingredient.Codes) is { } ingredientDisplay)
                {
                    return ingredientDisplay;
                }
            }

            return null;
        }
    }

    private static string? FirstDisplay(IReadOnlyList<CodeFact> codes)
    {
        foreach (var code in codes)
        {
            if (!string.IsNullOrWhiteSpace(code.Display))
            {
                return code.Display;
            }
        }

        return null;
    }

    /// <summary>
    /// The best human-readable name without knowledge of the codes: <see cref="Name"/>, else the first code with its
    /// system ("SNOMED CT 387383007", "RxNorm 197527"), never a bare number. A recognized entry is better named by
    /// <see cref="RecognizedMedication.DisplayName"/> (the product's name and strength).
    /// </summary>
    public string DisplayName =>
        Name
        ?? Codes.Where(c => !string.IsNullOrWhiteSpace(c.Code)).Select(CodeLabel).FirstOrDefault()
        ?? Reference;

    private static string CodeLabel(CodeFact code) => MedicationClassifier.SystemOf(code.System) switch
    {
        MedicationCodeSystem.RxNorm => $"RxNorm {code.Code}",
        MedicationCodeSystem.SnomedCt => $"SNOMED CT {code.Code}",
        MedicationCodeSystem.Atc => $"ATC {code.Code}",
        _ => string.IsNullOrWhiteSpace(code.System) ? $"code {code.Code}" : $"code {code.Code} ({code.System})",
    };
}
