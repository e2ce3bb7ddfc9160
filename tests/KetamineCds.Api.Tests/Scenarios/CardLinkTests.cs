using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// INTERFACES.md seam 2 (issue 9 item 2): with KetamineCds:Security:PublicBaseUrl = B, every card links to the SMART
/// app (B/app/launch, appContext = the finding and the hook instance, no patient data) and to the public evidence page
/// (B/app/evidence#finding); without B, no links. Seam 3 (issue 10 item 1): overrideReasons per card kind.
/// </summary>
public sealed class CardLinkTests : IDisposable
{
    private const string BaseUrl = "https://cds.example.org/ketamine";
    private readonly CdsApplication _app = CdsApplication.With(new Dictionary<string, string?> { ["KetamineCds:Security:PublicBaseUrl"] = BaseUrl + "/" });

    public void Dispose() => _app.Dispose();

    public static TheoryData<string> AllScenarioNames() => new(CardScenarios.All().Select(s => s.Name));

    [Theory]
    [MemberData(nameof(AllScenarioNames))]
    public async Task Every_card_links_to_the_SMART_app_and_the_evidence_page(string name)
    {
        var (_, service, request) = CardScenarios.All().Single(s => s.Name == name);
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(_app.CreateClient(), service, request));
        var hookInstance = (string)request["hookInstance"]!;
        var patientId = (string)request["context"]!["patientId"]!;
        Assert.NotEmpty(cards);
        foreach (var card in cards)
        {
            var finding = (string)card!["extension"]!["ketaminecds"]!["finding"]!;
            var links = card["links"]!.AsArray();
            Assert.Equal(2, links.Count);
            var smart = links.Single(l => (string)l!["type"]! == "smart")!;
            Assert.Equal("Open the ketamine course (SMART app)", (string)smart["label"]!);
            Assert.Equal($"{BaseUrl}/app/launch", (string)smart["url"]!);
            var appContext = JsonNode.Parse((string)smart["appContext"]!)!.AsObject(); // a JSON string, as seam 2 says
            Assert.Equal(finding, (string)appContext["finding"]!);
            Assert.Equal(hookInstance, (string)appContext["hookInstance"]!);
            Assert.Equal(2, appContext.Count); // nothing else: no patient data
            Assert.DoesNotContain(patientId, (string)smart["appContext"]!, StringComparison.Ordinal);
            var evidence = links.Single(l => (string)l!["type"]! == "absolute")!;
            Assert.Equal("Evidence: Joseph et al. 2023", (string)evidence["label"]!);
            Assert.Equal($"{BaseUrl}/app/evidence#{finding}", (string)evidence["url"]!);
        }
    }

    [Fact]
    public async Task Without_a_public_base_url_cards_carry_no_links()
    {
        using var app = new CdsApplication();
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", ScenarioFiles.Load("table2/patient-13/request.json")));
        Assert.NotEmpty(cards);
        Assert.All(cards, c => Assert.Null(c!["links"]));
    }

    [Theory]
    [InlineData("benzodiazepine-threshold", "benefit-outweighs-risk,dose-already-adjusted,medication-list-out-of-date,not-applicable")]
    [InlineData("benzodiazepine-borderline", "benefit-outweighs-risk,dose-already-adjusted,medication-list-out-of-date,not-applicable")]
    [InlineData("benzodiazepine-dose-unknown", "medication-list-out-of-date,not-applicable")]
    [InlineData("lamotrigine-concurrent", "benefit-outweighs-risk,medication-list-out-of-date,not-applicable")]
    [InlineData("benzodiazepine-below-threshold", "")]
    [InlineData("ketamine-course", "")]
    public async Task Cards_offer_the_override_reasons_of_their_kind(string finding, string codes)
    {
        var cards = new JsonArray();
        foreach (var (_, service, request) in CardScenarios.All().Where(s => s.Name.StartsWith("ehr-style", StringComparison.Ordinal) || s.Name.Contains("patient-13", StringComparison.Ordinal)))
        {
            foreach (var c in await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(_app.CreateClient(), service, request)))
            {
                cards.Add(c!.DeepClone());
            }
        }

        // dose-unknown: midazolam IV next to nothing else.
        foreach (var c in await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(_app.CreateClient(), "ketamine-order-sign",
                     RequestBuilder.OrderSign([RequestBuilder.Statement("m1", RequestBuilder.Concept("midazolam"), RequestBuilder.Dosage(5, route: "Intravenous"))]))))
        {
            cards.Add(c!.DeepClone());
        }

        var card = ScenarioFiles.Card(cards, finding) ?? throw new Xunit.Sdk.XunitException($"no {finding} card in the scenarios");
        var offered = card["overrideReasons"]?.AsArray() ?? [];
        Assert.Equal(codes, string.Join(",", offered.Select(r => (string)r!["code"]!)));
        foreach (var reason in offered)
        {
            Assert.Equal("http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason", (string)reason!["system"]!);
            Assert.Equal(ScenarioKnowledge.OverrideReasons.Single(r => r.Code == (string)reason["code"]!).Display, (string)reason["display"]!);
        }
    }
}
