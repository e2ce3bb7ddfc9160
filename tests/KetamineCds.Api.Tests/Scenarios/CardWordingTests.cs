using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KetamineCds.Api.Tests.Support;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// Clinical safety rules on every card the scenarios produce: no recommendation to stop, taper, hold or reduce
/// lamotrigine or a benzodiazepine; no suggestions or actions; summaries under 140 characters; Markdown without raw
/// HTML; every card cited and labelled with where its numbers come from.
/// </summary>
public sealed partial class CardWordingTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    // A recommending word followed, in the same sentence, by a discontinuation verb.
    [GeneratedRegex(@"\b(consider|recommend\w*|should|advis\w*|suggest\w*|must|need to|ought|please|we)\b[^.;:]*\b(stop\w*|discontinu\w*|taper\w*|hold\w*|reduc\w*|wean\w*|decreas\w*|lower\w*|cut\w*|withdraw\w*)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Recommendation();

    // Imperatives at the start of a sentence or line: "Stop lamotrigine", "Taper clonazepam".
    [GeneratedRegex(@"(^|[.!?]\s+|\n-?\s*)(stop|discontinue|taper|hold|reduce|wean|decrease)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Imperative();

    [GeneratedRegex(@"(?<!\\)<\s*/?\s*[a-zA-Z!]")]
    private static partial Regex RawHtml();

    // Any discontinuation verb at all (override reasons must not even describe one).
    [GeneratedRegex(@"\b(stop\w*|taper\w*|hold|holds|holding|held|reduce|reduces|reduced|reducing|discontinu\w*|wean\w*)\b", RegexOptions.IgnoreCase)]
    private static partial Regex DiscontinuationVerb();

    // The drugs the rule protects: lamotrigine and every benzodiazepine of the ingredient CodeSystem (by class name and
    // common names; the card names drugs by ingredient or as the EHR wrote them).
    [GeneratedRegex(@"\b(lamotrigine|lamictal|benzodiazepines?|\w+azepam|\w+azolam|chlordiazepoxide|clobazam|clorazepate|xanax|klonopin|ativan|valium)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ProtectedDrug();

    /// <summary>A sentence that names lamotrigine or a benzodiazepine and a stop/taper/hold/reduce/discontinue/wean verb.</summary>
    private static IEnumerable<string> DiscontinuationSentences(string text) =>
        Regex.Split(text, @"(?<=[.;:!?])\s+|\n").Where(s => ProtectedDrug().IsMatch(s) && DiscontinuationVerb().IsMatch(s));

    [Fact]
    public void The_recommendation_detector_catches_what_it_must()
    {
        Assert.Matches(Recommendation(), "Consider tapering clonazepam before ketamine.");
        Assert.Matches(Recommendation(), "You should stop lamotrigine.");
        Assert.Matches(Imperative(), "Stop lamotrigine 48 hours before the infusion.");
        Assert.Matches(Imperative(), "Dose is high.\n- Hold lamotrigine on infusion days");
        Assert.DoesNotMatch(Recommendation(), "In the study, lamotrigine was continued throughout treatment.");
        Assert.Single(DiscontinuationSentences("Lamotrigine was held before the infusion."));
        Assert.Single(DiscontinuationSentences("Clonazepam dose reduced; ketamine given."));
        Assert.Empty(DiscontinuationSentences("Lamotrigine was continued throughout the study. The threshold is 4 mg/day for benzodiazepines."));
    }

    /// <summary>Issue 10 item 1: no override reason offered on any card may imply stopping, tapering, holding or reducing.</summary>
    [Fact]
    public void No_override_reason_implies_stopping_tapering_holding_or_reducing()
    {
        var reasons = ScenarioKnowledge.OverrideReasons;
        Assert.Equal(4, reasons.Count);
        foreach (var reason in reasons)
        {
            Assert.DoesNotMatch(DiscontinuationVerb(), reason.Display);
            Assert.DoesNotMatch(DiscontinuationVerb(), reason.Code);
        }
    }

    public static TheoryData<string> AllScenarioNames() => new(CardScenarios.All().Select(s => s.Name));

    /// <summary>
    /// Every card of every scenario (Table 2 at order-sign, as text sigs, and on patient-view; the ehr-style card
    /// scenarios): no sentence about lamotrigine or a benzodiazepine uses stop/taper/hold/reduce/discontinue/wean, in the
    /// summary, the detail or an override reason's display.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllScenarioNames))]
    public async Task No_card_of_any_scenario_speaks_of_stopping_lamotrigine_or_a_benzodiazepine(string name)
    {
        var (_, service, request) = CardScenarios.All().Single(s => s.Name == name);
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), service, request));
        AssertSafe(cards);
        foreach (var card in cards)
        {
            var texts = new List<string> { (string)card!["summary"]!, (string?)card["detail"] ?? "" };
            texts.AddRange(card["overrideReasons"]?.AsArray().Select(r => (string)r!["display"]!) ?? []);
            foreach (var text in texts)
            {
                Assert.Empty(DiscontinuationSentences(text));
                Assert.DoesNotMatch(Recommendation(), text);
            }
        }
    }

    public static TheoryData<string> Requests()
    {
        var data = new TheoryData<string>();
        foreach (var patient in ScenarioFiles.Table2Patients())
        {
            data.Add($"table2/{patient}/request.json");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Table2_cards_follow_the_safety_rules(string fixture) =>
        AssertSafe(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", ScenarioFiles.Load(fixture))));

    [Fact]
    public async Task Dose_unknown_borderline_and_unreadable_cards_follow_the_safety_rules()
    {
        var requests = new[]
        {
            OrderSign([Statement("d1", Concept("diazepam"), null), Statement("c1", Concept("clonazepam"), Dosage(1)), Statement("l1", Concept("Lamictal"), null)]),
            OrderSign([Statement("m1", Concept("midazolam 5 mg <b>IV</b> | push"), Dosage(5, route: "Intravenous"))]),
            OrderSign([new JsonObject { ["resourceType"] = "MedicationStatement", ["id"] = "x", ["status"] = new JsonObject(), ["medicationCodeableConcept"] = Concept("Xanax") }]),
        };
        var all = new JsonArray();
        foreach (var request in requests)
        {
            foreach (var card in await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", request)))
            {
                all.Add(card!.DeepClone());
            }
        }

        // patient-view: the course card, from the Table 2 patient 05 fixture read as a chart opening.
        var view = ScenarioFiles.Load("table2/patient-05/request.json");
        view["hook"] = "patient-view";
        var draft = view["context"]!["draftOrders"]!["entry"]![0]!["resource"]!.DeepClone().AsObject();
        view["context"]!.AsObject().Remove("draftOrders");
        draft["status"] = "active";
        view["prefetch"]!["medicationRequests"] = Bundle([draft]);
        foreach (var card in await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-patient-view", view)))
        {
            all.Add(card!.DeepClone());
        }

        Assert.Contains(all, c => (string)c!["extension"]!["ketaminecds"]!["finding"]! == "ketamine-course");

        Assert.Contains(all, c => (string)c!["extension"]!["ketaminecds"]!["finding"]! == "benzodiazepine-dose-unknown");
        Assert.Contains(all, c => (string)c!["extension"]!["ketaminecds"]!["finding"]! == "benzodiazepine-borderline");
        Assert.Contains(all, c => (string)c!["extension"]!["ketaminecds"]!["finding"]! == "patient-data-unreadable");
        AssertSafe(all);
    }

    private static void AssertSafe(JsonArray cards)
    {
        Assert.NotEmpty(cards);
        Assert.Equal(cards.Count, cards.Select(c => (string)c!["uuid"]!).Distinct().Count());
        foreach (var node in cards)
        {
            var card = node!.AsObject();
            var summary = (string)card["summary"]!;
            var detail = (string?)card["detail"] ?? "";
            Assert.True(summary.Length < 140, $"summary is {summary.Length} characters: {summary}");
            Assert.True(Guid.TryParse((string)card["uuid"]!, out _));
            Assert.Contains((string)card["indicator"]!, new[] { "info", "warning", "critical" });
            Assert.False(card.ContainsKey("suggestions"), "cards carry no suggestions");
            Assert.False(card.ContainsKey("selectionBehavior"));
            foreach (var text in new[] { summary, detail })
            {
                Assert.DoesNotMatch(Recommendation(), text);
                Assert.DoesNotMatch(Imperative(), text);
                Assert.DoesNotMatch(RawHtml(), text);
            }

            var source = card["source"]!;
            Assert.Equal("https://doi.org/10.3390/ph16081164", (string)source["url"]!);
            Assert.Equal("http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-finding", (string)source["topic"]!["system"]!);
            Assert.Equal((string)card["extension"]!["ketaminecds"]!["finding"]!, (string)source["topic"]!["code"]!);

            var finding = (string)card["extension"]!["ketaminecds"]!["finding"]!;
            if (finding != "patient-data-unreadable")
            {
                Assert.Contains("from the patient's record", detail, StringComparison.Ordinal);
                Assert.Contains("from the article", detail, StringComparison.Ordinal);
                Assert.Contains("correction 16(11):1571", detail, StringComparison.Ordinal); // the correction is cited, once and short
                Assert.Single(System.Text.RegularExpressions.Regex.Matches(detail, "Joseph et al\\. 2023"));
            }
        }
    }
}
