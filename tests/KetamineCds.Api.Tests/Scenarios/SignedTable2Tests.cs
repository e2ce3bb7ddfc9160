using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KetamineCds.Api.Tests.Security;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// The Table 2 scenarios as a production EHR sends them: every call signed by a trusted issuer, through the real
/// authentication middleware. The other scenario tests switch signing off to test everything else in isolation.
/// </summary>
public sealed class SignedTable2Tests : IDisposable
{
    private readonly CdsApplication _app;

    public SignedTable2Tests()
    {
        var settings = TestTokens.Default.ClientSettings();
        settings["KetamineCds:Security:PublicBaseUrl"] = TestTokens.PublicBaseUrl;
        settings["KetamineCds:Security:RequireSignedRequests"] = "true";
        _app = CdsApplication.With(settings);
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Every_Table2_patient_gets_the_expected_findings_over_signed_calls()
    {
        var client = _app.CreateClient();
        foreach (var patient in ScenarioFiles.Table2Patients())
        {
            var expected = ScenarioFiles.Load($"table2/{patient}/expected.json");
            var service = (string)expected["service"]!;
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/cds-services/{service}")
            {
                Content = new StringContent(ScenarioFiles.Load($"table2/{patient}/request.json").ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = TestTokens.Default.BearerFor(service);
            var cards = await ScenarioFiles.CardsAsync(await client.SendAsync(request));
            Assert.Equal(expected["findings"]!.AsArray().Select(f => (string)f!).Order(StringComparer.Ordinal), ScenarioFiles.Findings(cards));
        }
    }

    [Fact]
    public async Task The_same_call_unsigned_is_refused()
    {
        var content = new StringContent(ScenarioFiles.Load("table2/patient-13/request.json").ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
        var response = await _app.CreateClient().PostAsync("/cds-services/ketamine-order-sign", content);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
