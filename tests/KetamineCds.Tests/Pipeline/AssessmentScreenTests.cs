using System.Text.Json;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Facts;

namespace KetamineCds.Tests.Pipeline;

/// <summary>The Observation pre-screen may let other Observations through, but never drops one the assessment reader recognizes.</summary>
public sealed class AssessmentScreenTests
{
    private static readonly AssessmentReader Reader = new(new Dictionary<AssessmentKind, IReadOnlyList<(string System, string Code)>>
    {
        [AssessmentKind.QidsSr16] = [("http://ehr.example.org/flowsheet", "QIDS-TOTAL-7781")],
    });

    private static readonly ResourceScreen Screen = AssessmentScreen.For(Reader);

    private static string Observation(string system, string code) =>
        "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"" + system + "\",\"code\":\"" + code + "\"}]},\"valueInteger\":12}";

    [Theory]
    [InlineData(AssessmentReader.AssessmentSystem, AssessmentReader.QidsSr16TotalCode)]
    [InlineData(AssessmentReader.AssessmentSystem, AssessmentReader.CadssTotalCode)]
    [InlineData("http://ehr.example.org/flowsheet", "QIDS-TOTAL-7781")]
    public void A_QIDS_SR_or_CADSS_total_passes_the_screen(string system, string code) =>
        Assert.True(Screen.MayBeRelevant(Observation(system, code)));

    [Theory]
    [InlineData("http://loinc.org", "8867-4")]
    [InlineData("http://loinc.org", "44261-6")]
    [InlineData("http://loinc.org", "2345-7")]
    public void Vitals_labs_and_other_questionnaires_are_screened_out(string system, string code) =>
        Assert.False(Screen.MayBeRelevant(Observation(system, code)));

    [Fact]
    public void Every_assessment_Observation_of_the_Table2_scenarios_passes_the_screen()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "scenarios", "table2");
        var checkedAny = false;
        foreach (var file in Directory.EnumerateFiles(folder, "request*.json", SearchOption.AllDirectories))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var entry in doc.RootElement.GetProperty("prefetch").GetProperty("observations").GetProperty("entry").EnumerateArray())
            {
                var resource = entry.GetProperty("resource");
                var observation = (Hl7.Fhir.Model.Observation)KetamineCds.Fhir.FhirJson.ReadTolerant(resource, out _)!;
                if (Reader.Recognize(observation) is not null)
                {
                    checkedAny = true;
                    Assert.True(Screen.MayBeRelevant(resource), $"{file}: {observation.Id}");
                }
            }
        }

        Assert.True(checkedAny, "no assessment Observation found in the Table 2 scenarios");
    }
}
