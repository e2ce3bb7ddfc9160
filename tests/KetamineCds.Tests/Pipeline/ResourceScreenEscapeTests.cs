using KetamineCds.Fhir.Data;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Pipeline;

/// <summary>
/// JSON escapes: many EHR serializers write every '&lt;' of a narrative as \u003C. The screen must still drop an
/// unrelated entry (else every entry is deserialized) and must still pass a name hidden behind an escape.
/// </summary>
public sealed class ResourceScreenEscapeTests
{
    private static readonly ResourceScreen Screen = ResourceScreen.ForMedications(TestKnowledge.Knowledge);

    private static string Statement(string text) =>
        "{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\"," +
        "\"text\":{\"status\":\"generated\",\"div\":\"\\u003Cdiv xmlns=\\\"http://www.w3.org/1999/xhtml\\\"\\u003E\\u003Cp\\u003Ereviewed\\u003C/p\\u003E\\u003C/div\\u003E\"}," +
        "\"medicationCodeableConcept\":{\"text\":\"" + text + "\"}}";

    [Fact]
    public void An_unrelated_medication_with_an_escaped_narrative_is_screened_out() =>
        Assert.False(Screen.MayBeRelevant(Statement("gabapentin 300 MG Oral Capsule")));

    [Theory]
    [InlineData("\\u0063lonazepam 0.5 mg")]
    [InlineData("CLONAZEPAM\\u00A00.5 mg")]
    [InlineData("lamo\\u0074rigine 100 mg")]
    [InlineData("Xan\\u0061x 1 mg")]
    public void A_name_behind_an_escape_passes_the_screen(string text) =>
        Assert.True(Screen.MayBeRelevant(Statement(text)), text);

    [Fact]
    public void An_escaped_backslash_does_not_swallow_the_next_characters() =>
        Assert.True(Screen.MayBeRelevant(Statement("home med \\\\ clonazepam")));
}

/// <summary>Only medication[x] is searched; what cannot be ruled out there goes on to be classified or counted.</summary>
public sealed class ResourceScreenScopeTests
{
    private static readonly ResourceScreen Screen = ResourceScreen.ForMedications(TestKnowledge.Knowledge);

    [Fact]
    public void A_name_in_a_note_or_narrative_alone_does_not_pass() =>
        Assert.False(Screen.MayBeRelevant("{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\"," +
            "\"medicationCodeableConcept\":{\"text\":\"gabapentin 300 mg\"},\"note\":[{\"text\":\"stopped clonazepam in 2019\"}]}"));

    [Fact]
    public void A_contained_Medication_is_searched() =>
        Assert.True(Screen.MayBeRelevant("{\"resourceType\":\"MedicationRequest\",\"id\":\"x\",\"status\":\"active\"," +
            "\"contained\":[{\"resourceType\":\"Medication\",\"id\":\"m\",\"code\":{\"text\":\"LORazepam 1 MG Oral Tablet\"}}]," +
            "\"medicationReference\":{\"reference\":\"#m\"}}"));

    [Fact]
    public void An_entry_with_no_medication_goes_on_to_be_counted() =>
        Assert.True(Screen.MayBeRelevant("{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\"}"));

    [Fact]
    public void A_bare_code_with_no_name_goes_on_to_be_classified() =>
        Assert.True(Screen.MayBeRelevant("{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\"," +
            "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"387562000\"}]}}"));
}
