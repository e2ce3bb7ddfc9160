using System.Text.Json.Nodes;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Dosing;

/// <summary>The sig vocabulary CodeSystem: its sources, its route codes, and that a broken one stops start-up.</summary>
public sealed class SigVocabularyTests
{
    private const string Path = "terminology/CodeSystem-ketamine-cds-sig-vocabulary.json";
    private static readonly SigVocabulary Vocabulary = TestKnowledge.Knowledge.Sig;

    [Fact]
    public void The_vocabulary_cites_GTSAbbreviation_and_the_SNOMED_CT_route_concepts()
    {
        var cs = JsonNode.Parse(KnowledgeLoader.ReadArtifacts()[Path])!;
        var citations = cs["extension"]!.AsArray()
            .Where(e => (string?)e!["url"] == "http://hl7.org/fhir/StructureDefinition/cqf-citation")
            .Select(e => (string)e!["valueString"]!).ToList();
        Assert.Contains(citations, c => c.Contains("v3-GTSAbbreviation", StringComparison.Ordinal));
        Assert.Contains(citations, c => c.Contains("route-codes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("by mouth", "26643006", RouteClass.Oral)]
    [InlineData("iv", "47625008", RouteClass.NonOral)]
    [InlineData("im", "78421000", RouteClass.NonOral)]
    [InlineData("per rectum", "37161004", RouteClass.NonOral)]
    [InlineData("under the tongue", "37839007", RouteClass.NonOral)]
    [InlineData("buccal", "54471007", RouteClass.NonOral)]
    [InlineData("intranasal", "46713006", RouteClass.NonOral)]
    [InlineData("subcut", "34206005", RouteClass.NonOral)]
    public void Route_words_carry_their_SNOMED_CT_route_and_class(string words, string snomed, RouteClass routeClass)
    {
        var (found, term) = Vocabulary.ClassifyRoute(words);
        Assert.Equal(routeClass, found);
        Assert.Equal(snomed, term?.SnomedRoute);
    }

    [Theory]
    [InlineData("BID", 2)]
    [InlineData("b.i.d.", 2)]
    [InlineData("QHS", 1)]
    [InlineData("BED", 1)]
    [InlineData("Q12H", 2)]
    [InlineData("Q8H", 3)]
    [InlineData("QOD", 0.5)]
    public void Timing_codes_are_read_from_the_frequency_concepts(string code, double perDay)
    {
        var term = Vocabulary.FrequencyByCode(code);
        Assert.NotNull(term);
        var days = term!.PeriodUnit == "h" ? term.Period!.Value / 24m : term.Period!.Value;
        Assert.Equal((decimal)perDay, Math.Round(term.Frequency!.Value / days, 3));
    }

    [Fact]
    public void A_vocabulary_without_route_concepts_stops_start_up()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts().ToDictionary(a => a.Key, a => a.Value);
        var cs = JsonNode.Parse(artifacts[Path])!.AsObject();
        var concepts = cs["concept"]!.AsArray();
        foreach (var route in concepts.Where(c => c!["property"]!.AsArray().Any(p => (string?)p!["code"] == "kind" && (string?)p["valueCode"] == "route")).ToList())
        {
            concepts.Remove(route);
        }

        artifacts[Path] = cs.ToJsonString();
        var error = Assert.Throws<InvalidDataException>(() => KnowledgeLoader.Load(artifacts));
        Assert.Contains("Route", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frequency_concept_without_its_schedule_stops_start_up()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts().ToDictionary(a => a.Key, a => a.Value);
        var cs = JsonNode.Parse(artifacts[Path])!.AsObject();
        var bid = cs["concept"]!.AsArray().First(c => (string?)c!["code"] == "freq-BID")!;
        var properties = bid["property"]!.AsArray();
        properties.Remove(properties.First(p => (string?)p!["code"] == "period"));
        artifacts[Path] = cs.ToJsonString();
        var error = Assert.Throws<InvalidDataException>(() => KnowledgeLoader.Load(artifacts));
        Assert.Contains("freq-BID", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_no_vocabulary_nothing_is_read_and_nothing_is_guessed()
    {
        var result = new SigTextParser(SigVocabulary.Empty).Parse("1 mg bid");
        Assert.NotNull(result.Unparsed);
    }
}
