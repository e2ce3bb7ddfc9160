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

/// <summary>
/// The screen searches the values of medication[x] as the classifier reads them (unescaped, one value at a time),
/// leaves out a coding's system URI, and passes what it cannot read.
/// </summary>
public sealed class ResourceScreenValueTests
{
    private static readonly ResourceScreen Screen = ResourceScreen.ForMedications(TestKnowledge.Knowledge);

    private static string Concept(string concept) =>
        "{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\",\"medicationCodeableConcept\":" + concept + "}";

    [Fact]
    public void A_clonazepam_RxNorm_code_with_no_display_passes() =>
        Assert.True(Screen.MayBeRelevant(Concept("{\"coding\":[{\"system\":\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":\"2598\"}],\"text\":\"home medication\"}")));

    [Fact]
    public void A_code_sent_as_a_JSON_number_is_still_searched() =>
        Assert.True(Screen.MayBeRelevant(Concept("{\"coding\":[{\"system\":\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":2598}],\"text\":\"home medication\"}")));

    [Fact]
    public void A_code_written_with_escapes_passes() =>
        Assert.True(Screen.MayBeRelevant(Concept("{\"coding\":[{\"system\":\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":\"\\u0032598\"}],\"text\":\"home medication\"}")));

    [Fact]
    public void Digits_of_a_system_OID_do_not_make_an_unrelated_medication_pass() =>
        Assert.False(Screen.MayBeRelevant(Concept("{\"coding\":[{\"system\":\"urn:oid:2.16.840.1.113883.6.88.2598\",\"code\":\"310429\",\"display\":\"furosemide 20 MG Oral Tablet\"}],\"text\":\"furosemide 20 MG Oral Tablet\"}")));

    [Fact]
    public void A_match_does_not_span_two_values() =>
        Assert.False(Screen.MayBeRelevant(Concept("{\"coding\":[{\"code\":\"25\",\"display\":\"98 vitamin D\"}],\"text\":\"vitamin D\"}")));

    [Fact]
    public void A_concept_with_text_that_is_not_valid_Unicode_passes_for_the_reader_to_judge()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(Concept("{\"text\":\"furosemide \\ud800 tablet\"}"));
        Assert.True(Screen.MayBeRelevant(bytes));
    }
}
