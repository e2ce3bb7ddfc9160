using KetamineCds.Api.FhirAccess;
using KetamineCds.Api.Security;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>The FHIR servers an issuer lists in its trusted-client entry are reachable with its tokens only.</summary>
public sealed class TrustedClientAllowListTests
{
    private static readonly Uri EpicFhir = new("https://fhir.hospital-a.example/api/FHIR/R4");

    private static TrustedClient Client(string issuer, params Uri[] servers) =>
        new(issuer, null, Array.Empty<JsonWebKey>(), [], TrustedClientRegistry.DefaultAlgorithms, servers);

    private static TrustedClientFhirServerAllowList AllowList(params TrustedClient[] clients)
    {
        var configured = new ConfiguredFhirServerAllowList(new StaticOptions(new FhirServerAllowListOptions()));
        return new TrustedClientFhirServerAllowList(new TrustedClientRegistry(clients), configured);
    }

    [Fact]
    public void An_issuer_may_name_its_own_FHIR_server_including_a_trailing_slash()
    {
        var list = AllowList(Client("https://ehr-a", EpicFhir));
        Assert.True(list.IsAllowed("https://ehr-a", EpicFhir, out var match));
        Assert.False(match.AllowPrivateAddress);
        Assert.True(list.IsAllowed("https://ehr-a", new Uri(EpicFhir + "/"), out _));
    }

    [Fact]
    public void Another_issuer_may_not_name_it()
    {
        var list = AllowList(Client("https://ehr-a", EpicFhir), Client("https://ehr-b"));
        Assert.False(list.IsAllowed("https://ehr-b", EpicFhir, out _));
        Assert.False(list.IsAllowed(null, EpicFhir, out _));
        Assert.True(list.IsListed(EpicFhir, out _)); // the fetcher's own check still knows it
    }

    [Theory]
    [InlineData("https://fhir.hospital-a.example/api/FHIR/R4/../../admin")]
    [InlineData("https://fhir.hospital-a.example/api/FHIR/R4?x=1")]
    [InlineData("https://user:pw@fhir.hospital-a.example/api/FHIR/R4")]
    [InlineData("https://fhir.hospital-a.example:8443/api/FHIR/R4")]
    [InlineData("http://fhir.hospital-a.example/api/FHIR/R4")]
    public void Look_alike_URLs_are_not_the_listed_server(string url) =>
        Assert.False(AllowList(Client("https://ehr-a", EpicFhir)).IsAllowed("https://ehr-a", new Uri(url), out _));

    private sealed class StaticOptions(FhirServerAllowListOptions value) : IOptionsMonitor<FhirServerAllowListOptions>
    {
        public FhirServerAllowListOptions CurrentValue => value;

        public FhirServerAllowListOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<FhirServerAllowListOptions, string?> listener) => null;
    }
}
