using System.Net;
using KetamineCds.Api.Security;
using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.Api.Tests.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>Issue 8 item 5: JWS crit, jti length, rate limit before the replay store, production-only settings, Redis down.</summary>
public sealed class TrustBoundaryTests
{
    private const string Service = "ketamine-order-sign";

    [Theory]
    [InlineData("""["urn:example:policy"]""", "urn:example:policy", AuthFailureReasons.CritNotUnderstood)]
    [InlineData("""["b64"]""", "b64", AuthFailureReasons.CritNotUnderstood)]
    [InlineData("\"urn:example:policy\"", "urn:example:policy", AuthFailureReasons.CritInvalid)]
    [InlineData("[]", null, AuthFailureReasons.CritInvalid)]
    [InlineData("[42]", null, AuthFailureReasons.CritInvalid)]
    [InlineData("""["exp"]""", null, AuthFailureReasons.CritInvalid)]
    [InlineData("""["alg"]""", null, AuthFailureReasons.CritInvalid)]
    public async Task An_EHR_token_with_a_critical_header_extension_the_service_does_not_implement_is_refused(string crit, string? extension, string reason)
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings()));
        var headers = new Dictionary<string, object> { ["crit"] = System.Text.Json.JsonSerializer.Deserialize<object>(crit)! };
        if (extension is not null)
        {
            headers[extension] = extension == "b64" ? false : "on";
        }

        using var response = await host.CallAsync(Service, TestTokens.Default.Sign(TestTokens.Audience(Service), extraHeaders: headers), "patient-13");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(reason, host.Logs.LastRefusalReason());
    }

    [Fact]
    public async Task A_token_id_longer_than_256_characters_is_refused_and_one_of_256_is_accepted()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings()));

        using var atLimit = await host.CallAsync(Service, TestTokens.Default.Sign(TestTokens.Audience(Service), jti: new string('j', 256)), "patient-13");
        using var overLimit = await host.CallAsync(Service, TestTokens.Default.Sign(TestTokens.Audience(Service), jti: new string('k', 257)), "patient-13");

        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, overLimit.StatusCode);
        Assert.Equal(AuthFailureReasons.JtiTooLong, host.Logs.LastRefusalReason());
    }

    [Fact]
    public async Task A_flood_of_validly_signed_tokens_is_throttled_before_any_throttled_token_is_written_to_the_replay_store()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings(), new Dictionary<string, string?>
        {
            ["KetamineCds:Security:RateLimit:PermitLimit"] = "3",
            ["KetamineCds:Security:RateLimit:WindowSeconds"] = "600",
        }));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await host.CallAsync(Service, TestTokens.Default.For(Service), "patient-13");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(9, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(3, host.Services.GetRequiredService<InMemoryJtiReplayStore>().Count);
    }

    [Fact]
    public void Production_refuses_to_start_with_plain_http_loopback_allowed_for_FHIR_servers()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(new Dictionary<string, string?>
        {
            ["KetamineCds:FhirFallback:AllowHttpLoopback"] = "true",
        }), environment: "Production");

        var error = Assert.Throws<OptionsValidationException>(() => host.Services);

        Assert.Contains("AllowHttpLoopback=true is allowed only in Development or Testing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Production_refuses_to_start_with_an_http_public_base_url()
    {
        using var host = new SecurityTestHost(new Dictionary<string, string?>
        {
            ["KetamineCds:Security:PublicBaseUrl"] = "http://127.0.0.1:5080",
        }, environment: "Production");

        var error = Assert.Throws<OptionsValidationException>(() => host.Services);

        Assert.Contains("PublicBaseUrl must be https outside Development and Testing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_shared_Redis_unreachable_a_signed_call_is_refused_with_503_and_an_OperationOutcome_not_accepted_unchecked()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings(), new Dictionary<string, string?>
        {
            ["KetamineCds:Redis:Configuration"] = $"127.0.0.1:{LoopbackPort.Free()}",
            ["KetamineCds:Redis:OperationTimeoutMilliseconds"] = "200",
            ["KetamineCds:Redis:ConnectTimeoutMilliseconds"] = "200",
        }));

        using var response = await host.CallAsync(Service, TestTokens.Default.For(Service), "patient-13");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("\"resourceType\":\"OperationOutcome\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.Message.StartsWith("Replay store unavailable", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Entries, e => e.Category == "KetamineCds.Audit" && e.Message.Contains("\"outcome\":\"unavailable\"", StringComparison.Ordinal));
    }
}
