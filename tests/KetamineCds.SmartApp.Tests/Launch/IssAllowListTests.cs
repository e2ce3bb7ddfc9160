using KetamineCds.SmartApp.Launch;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp.Tests.Launch;

/// <summary>The iss allow-list and the scope choice, without servers (the browser tests prove the whole launch).</summary>
public sealed class IssAllowListTests
{
    private static SmartEhrRegistry Registry(bool loopback = false) => new(Options.Create(new SmartAppOptions
    {
        AllowHttpLoopback = loopback,
        Ehrs =
        [
            new SmartEhrRegistration { Name = "epic", Iss = new Uri("https://fhir.hospital.example/api/FHIR/R4"), ClientId = "a" },
            new SmartEhrRegistration { Name = "launcher", Iss = new Uri("https://launch.smarthealthit.org/v/r4"), AcceptIssUnderBase = true, ClientId = "b" },
            new SmartEhrRegistration { Name = "local", Iss = new Uri("http://127.0.0.1:8080/fhir"), ClientId = "c" },
        ],
    }));

    [Theory]
    [InlineData("https://fhir.hospital.example/api/FHIR/R4", "epic")]
    [InlineData("https://fhir.hospital.example/api/FHIR/R4/", "epic")]
    [InlineData("https://launch.smarthealthit.org/v/r4/sim/eyJrIjoiMSJ9/fhir", "launcher")]
    public void A_registered_iss_matches_its_EHR(string iss, string name)
    {
        Assert.True(Registry().TryMatch(iss, out var match, out _));
        Assert.Equal(name, match.Registration.Name);
    }

    [Theory]
    [InlineData("https://fhir.hospital.example/api/FHIR/R4/../../admin")]
    [InlineData("https://fhir.hospital.example/api/FHIR/R4?x=1")]
    [InlineData("https://fhir.hospital.example.evil.example/api/FHIR/R4")]
    [InlineData("https://user@fhir.hospital.example/api/FHIR/R4")]
    [InlineData("https://fhir.hospital.example/api/FHIR/R4X")]
    [InlineData("https://launch.smarthealthit.org/v/r4x/fhir")]
    [InlineData("https://launch.smarthealthit.org.evil.example/v/r4/fhir")]
    [InlineData("http://fhir.hospital.example/api/FHIR/R4")]
    [InlineData("http://127.0.0.1:8080/fhir")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("file:///etc/passwd")]
    [InlineData("//fhir.hospital.example/api/FHIR/R4")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_refused_before_it_is_contacted(string? iss)
    {
        Assert.False(Registry().TryMatch(iss, out _, out var reason));
        Assert.NotEqual("registered", reason);
    }

    [Fact]
    public void Plain_http_is_accepted_only_for_a_registered_loopback_iss_when_loopback_is_allowed()
    {
        Assert.True(Registry(loopback: true).TryMatch("http://127.0.0.1:8080/fhir", out _, out _));
        Assert.False(Registry(loopback: true).TryMatch("http://127.0.0.1:8081/fhir", out _, out _));
    }

    [Fact]
    public void Scopes_are_SMART_v2_unless_the_server_advertises_only_v1()
    {
        Assert.False(SmartScopes.ServerIsV1Only(["launch-ehr", "permission-v2"], []));
        Assert.True(SmartScopes.ServerIsV1Only(["launch-ehr", "permission-v1"], []));
        Assert.False(SmartScopes.ServerIsV1Only(["permission-v1", "permission-v2"], []));
        Assert.True(SmartScopes.ServerIsV1Only([], ["patient/*.read", "launch"]));
        Assert.False(SmartScopes.ServerIsV1Only([], ["patient/*.read", "patient/Observation.rs"]));
        Assert.False(SmartScopes.ServerIsV1Only([], []));

        var ehr = SmartScopes.For(v1Only: false, standalone: false, []).Split(' ');
        Assert.Contains("patient/MedicationStatement.rs", ehr);
        Assert.Contains("launch", ehr);
        Assert.DoesNotContain("launch/patient", ehr);
        var standalone = SmartScopes.For(v1Only: true, standalone: true, ["online_access"]).Split(' ');
        Assert.Equal(["patient/*.read", "launch/patient", "openid", "fhirUser", "online_access"], standalone);
    }

    [Theory]
    [InlineData("""{"finding":"lamotrigine-concurrent","hookInstance":"x"}""", "lamotrigine-concurrent")]
    [InlineData("""{"finding":"<script>"}""", null)]
    [InlineData("""not json""", null)]
    [InlineData("""["benzodiazepine-threshold"]""", null)]
    public void Only_a_known_finding_code_is_taken_from_appContext(string appContext, string? finding) =>
        Assert.Equal(finding, SmartAppEndpoints.AppContextFinding(appContext));
}
