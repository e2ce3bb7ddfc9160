using System.Net;
using System.Text;
using KetamineCds.Api.Tests.Security;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>CDS Hooks 2.0 feedback: accepted or overridden cards, validated; errors as OperationOutcome.</summary>
public sealed class FeedbackTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private const string Valid = """
        {"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden",
          "overrideReason":{"reason":{"code":"not-applicable","system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason"}},"outcomeTimestamp":"2026-11-27T09:00:00Z"},
         {"card":"a745b0db-44da-4f38-886e-bdf60116beab","outcome":"accepted","outcomeTimestamp":"2026-11-27T09:00:00Z"}]}
        """;

    [Fact]
    public async Task Valid_feedback_is_accepted()
    {
        var response = await app.CreateClient().PostAsync("/cds-services/ketamine-order-sign/feedback", Json(Valid));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"feedback\": {}}")]
    [InlineData("{\"feedback\": [{\"card\": \"not-a-uuid\", \"outcome\": \"accepted\", \"outcomeTimestamp\": \"2026-11-27T09:00:00Z\"}]}")]
    [InlineData("{\"feedback\": [{\"card\": \"9368d37b-283f-44a0-93ea-547cebab93ed\", \"outcome\": \"ignored\", \"outcomeTimestamp\": \"2026-11-27T09:00:00Z\"}]}")]
    [InlineData("{\"feedback\": [{\"card\": \"9368d37b-283f-44a0-93ea-547cebab93ed\", \"outcome\": \"accepted\"}]}")]
    [InlineData("[1]")]
    public async Task Malformed_feedback_is_400(string body)
    {
        var response = await app.CreateClient().PostAsync("/cds-services/ketamine-order-sign/feedback", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await ScenarioFiles.OutcomeAsync(response);
    }

    [Fact]
    public async Task Feedback_for_an_unknown_service_is_404()
    {
        var response = await app.CreateClient().PostAsync("/cds-services/nope/feedback", Json(Valid));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Feedback_must_be_signed_when_signing_is_required()
    {
        var settings = TestTokens.Default.ClientSettings();
        settings["KetamineCds:Security:PublicBaseUrl"] = TestTokens.PublicBaseUrl;
        settings["KetamineCds:Security:RequireSignedRequests"] = "true";
        using var signed = CdsApplication.With(settings);
        var client = signed.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/cds-services/ketamine-order-sign/feedback", Json(Valid))).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/cds-services/ketamine-order-sign/feedback") { Content = Json(Valid) };
        request.Headers.Authorization = new("Bearer", TestTokens.Default.Sign(TestTokens.Audience("ketamine-order-sign") + "/feedback"));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
    }
}
