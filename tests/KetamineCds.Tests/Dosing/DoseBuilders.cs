using KetamineCds.Clinical.Medications;

namespace KetamineCds.Tests.Dosing;

/// <summary>Small builders so each dose case reads like the medication list entry it stands for.</summary>
internal static class DoseBuilders
{
    public const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    public const string Gts = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation";

    public static MedicationFact Named(string text, params DosageFact[] dosages) => new()
    {
        Reference = "MedicationStatement/test",
        Source = MedicationSource.Statement,
        Status = "active",
        Texts = [text],
        Dosages = dosages,
    };

    public static MedicationFact Coded(string rxNorm, string? display, params DosageFact[] dosages) => new()
    {
        Reference = "MedicationRequest/test",
        Source = MedicationSource.Request,
        Status = "active",
        Codes = [new CodeFact(RxNorm, rxNorm, display)],
        Dosages = dosages,
    };

    public static MedicationFact WithIngredients(MedicationFact fact, params IngredientStrengthFact[] ingredients) =>
        fact with { Ingredients = ingredients };

    public static IngredientStrengthFact Ingredient(string? rxNorm, string name, decimal mg, decimal per, string perCode) =>
        new(rxNorm is null ? [] : [new CodeFact(RxNorm, rxNorm, name)], name, new RatioFact(new QuantityFact(mg, "mg", "mg"), new QuantityFact(per, perCode, perCode)));

    public static QuantityFact Q(decimal value, string code) => new(value, code, code);

    public static DosageFact Sig(string text) => new() { Text = text };

    public static DosageFact Dose(decimal value, string code, TimingFact? timing, bool prn = false) =>
        new() { Dose = Q(value, code), Timing = timing, AsNeeded = prn };

    public static DosageFact Range(decimal low, decimal high, string code, TimingFact? timing, bool prn = false) =>
        new() { DoseRangeLow = Q(low, code), DoseRangeHigh = Q(high, code), Timing = timing, AsNeeded = prn };

    public static TimingFact Every(int frequency, decimal period, string unit, int? frequencyMax = null, decimal? periodMax = null) =>
        new() { Frequency = frequency, FrequencyMax = frequencyMax, Period = period, PeriodMax = periodMax, PeriodUnit = unit };

    public static TimingFact Code(string code) => new() { Codes = [new CodeFact(Gts, code, null)] };

    public static TimingFact When(int count) => new() { WhenCount = count };

    public static TimingFact TimeOfDay(int count) => new() { TimeOfDayCount = count };

    public static TimingFact Events(int count) => new() { EventCount = count };

    public static RatioFact PerDay(decimal value, string code) => new(Q(value, code), new QuantityFact(1, "d", "d"));
}
