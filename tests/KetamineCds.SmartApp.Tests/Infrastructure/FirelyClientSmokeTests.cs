using System.Net.Http.Headers;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>The app reads FHIR with Firely's FhirClient: it must search, follow next links and read under the user's token here.</summary>
[Collection(SmartEnvironmentCollection.Name)]
public sealed class FirelyClientSmokeTests(SmartServersFixture servers) : IAsyncLifetime
{
    private const string RedirectUri = "http://127.0.0.1:9/firely-callback";
    private readonly string _clientId = "firely-" + Guid.NewGuid().ToString("N")[..8];

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        await servers.ResetAsync();
        await servers.RegisterClientAsync(new SmartClientRegistration(_clientId, [RedirectUri], SmartTestData.AppScopesV2));
    }

    public System.Threading.Tasks.Task DisposeAsync() => System.Threading.Tasks.Task.CompletedTask;

    [Fact]
    public async System.Threading.Tasks.Task Firely_client_pages_through_a_course_and_reads_the_patient_under_the_users_token()
    {
        using var driver = new SmartAuthorizationDriver(servers);
        var launch = await servers.CreateLaunchAsync(new EhrLaunch(SmartTestData.Patient13));
        var token = await driver.GetTokenAsync(new AuthorizationRequest(_clientId, RedirectUri,
            "launch patient/Patient.rs patient/Observation.rs patient/MedicationRequest.rs patient/MedicationStatement.rs", SmartAuthorizationDriver.NewCodeVerifier(), launch));

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        using var client = new FhirClient(servers.FhirBaseUrl, http, new FhirClientSettings
        {
            PreferredFormat = ResourceFormat.Json,
            VerifyFhirVersion = false,
            SerializationEngine = FhirSerializationEngineFactory.Ostrich(ModelInfo.ModelInspector),
        });

        var patient = await client.ReadAsync<Patient>($"Patient/{token.Patient}");
        Assert.Equal("Kestrelle", patient!.Name[0].Family);

        var page = await client.SearchAsync<Observation>(new SearchParams().Where($"subject=Patient/{token.Patient}").Where("_sort=date").LimitTo(4));
        var observations = new List<Observation>();
        var pages = 0;
        while (page is not null)
        {
            pages++;
            observations.AddRange(page.Entry.Select(e => e.Resource).OfType<Observation>());
            page = await client.ContinueAsync(page);
        }

        Assert.Equal(4, pages); // 13 Observations, 4 a page
        Assert.Equal(13, observations.Select(o => o.Id).Distinct().Count());
        Assert.Equal("obs-13-qids-baseline", observations[0].Id);

        var orders = await client.SearchAsync<MedicationRequest>(new SearchParams().Where($"subject=Patient/{token.Patient}"));
        Assert.Contains(orders!.Entry.Select(e => e.Resource).OfType<MedicationRequest>(), m => m.Status == MedicationRequest.MedicationrequestStatus.Draft);

        var other = await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<Patient>($"Patient/{SmartTestData.Patient01}"));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, other.Status);
    }
}
