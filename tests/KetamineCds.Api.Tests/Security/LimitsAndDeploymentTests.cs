using System.Net;
using System.Text.Json;
using KetamineCds.Api.Audit;
using KetamineCds.Api.Security;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Api.Tests.Security;

public sealed class LimitsAndDeploymentTests
{
    private const string Service = "ketamine-order-sign";
    private static readonly TestTokens A = TestTokens.Default;
    private static readonly TestTokens B = new("https://ehr-b.test.invalid/cds-client");

    [Fact]
    public async Task Issuer_over_its_rate_limit_gets_429_with_Retry_After_while_another_issuer_is_served()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(A.ClientSettings(0), B.ClientSettings(1), new()
        {
            ["KetamineCds:Security:RateLimit:PermitLimit"] = "2",
            ["KetamineCds:Security:RateLimit:WindowSeconds"] = "60",
        }));
        Assert.Equal(HttpStatusCode.OK, (await host.CallAsync(Service, A.For(Service))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.CallAsync(Service, A.For(Service))).StatusCode);

        var limited = await host.CallAsync(Service, A.For(Service));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) is > 0 and <= 60);
        Assert.Contains("\"OperationOutcome\"", await limited.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await host.CallAsync(Service, B.For(Service))).StatusCode);
    }

    private static SecurityTestHost CorsHost() => new(SecurityTestHost.Settings(A.ClientSettings(0), new()
    {
        ["KetamineCds:Security:Cors:AllowedOrigins:0"] = "https://ehr.example.org",
    }));

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, $"/cds-services/{Service}");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }

    [Fact]
    public async Task Allowed_origin_gets_cors_headers_without_credentials()
    {
        using var host = CorsHost();
        using var client = host.CreateClient();
        using var preflight = await client.SendAsync(Preflight("https://ehr.example.org"));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("https://ehr.example.org", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Credentials"));

        var call = await host.CallAsync(Service, A.For(Service), origin: "https://ehr.example.org");
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        Assert.Equal("https://ehr.example.org", call.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Origin_not_on_the_allow_list_gets_403_and_no_cors_headers()
    {
        using var host = CorsHost();
        using var client = host.CreateClient();
        using var preflight = await client.SendAsync(Preflight("https://evil.example.net"));
        Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));

        var call = await host.CallAsync(Service, A.For(Service), origin: "https://evil.example.net");
        Assert.Equal(HttpStatusCode.Forbidden, call.StatusCode);
        Assert.False(call.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Contains("\"OperationOutcome\"", await call.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Wildcard_cors_origin_stops_the_service_from_starting()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(A.ClientSettings(0), new() { ["KetamineCds:Security:Cors:AllowedOrigins:0"] = "*" }));
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains("wildcards are refused", error.ToString());
    }

    [Fact]
    public void Hmac_algorithm_in_configuration_stops_the_service_from_starting()
    {
        var settings = SecurityTestHost.Settings(A.ClientSettings(0), new() { ["KetamineCds:Security:Clients:0:Algorithms:0"] = "HS256" });
        using var host = new SecurityTestHost(settings);
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains("'HS256' is refused", error.ToString());
    }

    [Fact]
    public async Task Production_without_trusted_clients_refuses_every_hook_call_and_warns_at_start()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(), environment: "Production");
        var response = await host.CallAsync(Service, A.For(Service));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("No trusted CDS clients are configured", StringComparison.Ordinal));
        using var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(CdsSecurity.DevelopmentJwksPath)).StatusCode);
    }

    [Fact]
    public void Unsigned_requests_switch_stops_the_service_from_starting_in_production()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(new Dictionary<string, string?> { ["KetamineCds:Security:RequireSignedRequests"] = "false" }), environment: "Production");
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains("RequireSignedRequests=false is allowed only in Development or Testing", error.ToString());
    }

    [Fact]
    public void Production_with_clients_but_no_audit_key_does_not_start()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(A.ClientSettings(0)), environment: "Production");
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains("PatientIdHashKey is required", error.ToString());
    }

    [Fact]
    public async Task Unsigned_requests_switch_in_Testing_accepts_calls_without_a_token()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(new Dictionary<string, string?> { ["KetamineCds:Security:RequireSignedRequests"] = "false" }));
        Assert.Equal(HttpStatusCode.OK, (await host.CallAsync(Service, null)).StatusCode);
    }

    [Fact]
    public async Task Development_issuer_signs_valid_requests_in_Development_only()
    {
        var keys = Directory.CreateTempSubdirectory("ketaminecds-devkeys-").FullName;
        try
        {
            var signingKey = DevelopmentIssuer.LoadOrCreateSigningKey(keys);
            var devTokens = new TestTokens(DevelopmentIssuer.Issuer);
            string Token() => devTokens.Sign(TestTokens.Audience(Service), signingKey, DevelopmentIssuer.Algorithm);
            var settings = SecurityTestHost.Settings(new Dictionary<string, string?> { ["KetamineCds:Security:DevKeysDirectory"] = keys });

            using (var development = new SecurityTestHost(settings, environment: "Development"))
            {
                Assert.Equal(HttpStatusCode.OK, (await development.CallAsync(Service, Token())).StatusCode);
                using var client = development.CreateClient();
                var jwks = await client.GetStringAsync(CdsSecurity.DevelopmentJwksPath);
                Assert.Contains(signingKey.KeyId, jwks);
                Assert.DoesNotContain("\"d\"", jwks);
            }

            using var production = new SecurityTestHost(settings, environment: "Production");
            Assert.Equal(HttpStatusCode.Unauthorized, (await production.CallAsync(Service, Token())).StatusCode);
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    [Fact]
    public async Task Every_hook_call_writes_one_audit_record_including_refusals()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(A.ClientSettings(0)));
        Assert.Equal(HttpStatusCode.OK, (await host.CallAsync(Service, A.For(Service))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.CallAsync(Service, null)).StatusCode);

        var records = host.Logs.Entries.Where(e => e.Category == AuditMiddleware.Category)
            .Select(e => JsonDocument.Parse(e.Message).RootElement).ToList();
        Assert.Equal(2, records.Count);
        Assert.Equal("cds-hook-call", records[0].GetProperty("type").GetString());
        Assert.Equal(Service, records[0].GetProperty("service").GetString());
        Assert.Equal(A.Issuer, records[0].GetProperty("issuer").GetString());
        Assert.Equal(200, records[0].GetProperty("status").GetInt32());
        Assert.Equal("answered", records[0].GetProperty("outcome").GetString());
        Assert.Equal(401, records[1].GetProperty("status").GetInt32());
        Assert.False(records[1].TryGetProperty("issuer", out _));
    }

    [Fact]
    public void Patient_id_hash_is_keyed_and_stable()
    {
        var key1 = new PatientIdHasher(Enumerable.Repeat((byte)1, 32).ToArray());
        var key2 = new PatientIdHasher(Enumerable.Repeat((byte)2, 32).ToArray());
        Assert.Equal(key1.Hash("table2-patient-01"), key1.Hash("table2-patient-01"));
        Assert.NotEqual(key1.Hash("table2-patient-01"), key1.Hash("table2-patient-02"));
        Assert.NotEqual(key1.Hash("table2-patient-01"), key2.Hash("table2-patient-01"));
        Assert.StartsWith("hmac-sha256:", key1.Hash("x"));
        Assert.DoesNotContain("table2", key1.Hash("table2-patient-01"));
    }
}
