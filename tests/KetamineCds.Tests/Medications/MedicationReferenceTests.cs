using Hl7.Fhir.Model;
using KetamineCds.Fhir.Facts;

namespace KetamineCds.Tests.Medications;

/// <summary>
/// An order that names its drug only by <c>medicationReference</c> is read from the Medication it points to: contained,
/// or included alongside (by <c>_include</c>, or a Bulk Data export's Medication file), by a relative reference or an
/// absolute URL ending in it. A reference to nothing that was sent reads no codes, so the caller counts it as unreadable.
/// </summary>
public sealed class MedicationReferenceTests
{
    private static readonly Dictionary<string, Medication> Included = new(StringComparer.Ordinal)
    {
        ["Medication/2"] = Product("2", "197901", "lorazepam 2 MG Oral Tablet"),
        ["Medication/lamo-100"] = Product("lamo-100", "198428", "lamotrigine 100 MG Oral Tablet"),
    };

    [Theory]
    [InlineData("Medication/lamo-100", "198428")]
    [InlineData("https://ehr.example.org/fhir/R4/Medication/lamo-100", "198428")]
    [InlineData("Medication/2", "197901")]
    [InlineData("http://ehr.example.org/Medication/2", "197901")]
    public void An_included_Medication_is_found_by_a_relative_or_absolute_reference(string reference, string rxnorm)
    {
        var fact = MedicationFactReader.Read(Order(reference), medications: Included)!;

        Assert.Equal(rxnorm, Assert.Single(fact.Codes).Code);
        Assert.Contains(fact.Texts, t => t.StartsWith(rxnorm == "198428" ? "lamotrigine" : "lorazepam", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Medication/12")]          // ends in "2", not in "/Medication/2"
    [InlineData("Medication/lamo-100/_history/3")]
    [InlineData("Medication/not-sent")]
    [InlineData("Patient/2")]
    [InlineData("2")]
    [InlineData("/")]
    [InlineData("")]
    public void A_reference_to_nothing_sent_reads_no_codes(string reference)
    {
        var fact = MedicationFactReader.Read(Order(reference), medications: Included)!;

        Assert.Empty(fact.Codes);
        Assert.Empty(fact.Ingredients);
    }

    [Fact]
    public void A_contained_reference_reads_the_contained_Medication_not_an_included_one_of_the_same_id()
    {
        var order = Order("#2");
        order.Contained.Add(Product("2", "198428", "lamotrigine 100 MG Oral Tablet"));

        var fact = MedicationFactReader.Read(order, medications: Included)!;

        Assert.Equal("198428", Assert.Single(fact.Codes).Code);
    }

    [Fact]
    public void Without_included_Medications_a_reference_reads_only_its_display()
    {
        var order = Order("Medication/2");
        order.Medication = new ResourceReference("Medication/2", "LORazepam 2 mg tablet");

        var fact = MedicationFactReader.Read(order)!;

        Assert.Empty(fact.Codes);
        Assert.Equal("LORazepam 2 mg tablet", Assert.Single(fact.Texts));
    }

    private static MedicationRequest Order(string reference) => new()
    {
        Id = "order-1",
        Status = MedicationRequest.MedicationrequestStatus.Active,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Medication = new ResourceReference(reference),
    };

    private static Medication Product(string id, string rxnorm, string display) => new()
    {
        Id = id,
        Code = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", rxnorm, display),
    };
}
