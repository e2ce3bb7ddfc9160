using System.Security.Cryptography;
using KetamineCds.Review.Bulk;
using KetamineCds.Review.Cli;
using KetamineCds.Review.Synthetic;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Review.Tests.Bulk;

/// <summary>One loopback Bulk Data server and one small synthetic export for every export test.</summary>
public sealed class BulkServerFixture : IAsyncLifetime
{
    public string ExportDirectory { get; } = Path.Combine(Path.GetTempPath(), "kcds-bulk-src-" + Guid.NewGuid().ToString("N"));
    public BulkDataServer Server { get; private set; } = null!;
    public ECDsa EcKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    public RSA RsaKey { get; } = RSA.Create(2048);

    public Task InitializeAsync()
    {
        SyntheticExport.Write(ExportDirectory, 60, seed: 3, Fhir.AsOf, observationFiles: 2);
        var files = Directory.GetFiles(ExportDirectory, "*.ndjson").ToDictionary(p => Path.GetFileName(p), File.ReadAllBytes);
        Server = new BulkDataServer(files);
        var ec = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(EcKey.ExportParameters(false))) { KeyId = "ec-1" });
        var rsa = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(RsaKey.ExportParameters(false)) { KeyId = "rsa-1" });
        Server.Register("clinic-review", ec);
        Server.Register("clinic-review-rsa", rsa);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(ExportDirectory, true);
    }
}

[CollectionDefinition(Name)]
public sealed class BulkCollection : ICollectionFixture<BulkServerFixture>, ICollectionFixture<EngineFixture>
{
    public const string Name = "bulk";
}

[Collection(BulkCollection.Name)]
public sealed class BulkExportTests(BulkServerFixture fixture, EngineFixture engine) : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "kcds-bulk-out-" + Guid.NewGuid().ToString("N"));

    private BulkExportOptions Options(string? group = "clinic", string clientId = "clinic-review", string alg = "ES384", string? pem = null) => new()
    {
        FhirBaseUrl = fixture.Server.FhirBase,
        GroupId = group,
        ClientId = clientId,
        KeyId = alg == "ES384" ? "ec-1" : "rsa-1",
        Algorithm = alg,
        PrivateKeyPem = pem ?? (alg == "ES384" ? fixture.EcKey.ExportECPrivateKeyPem() : fixture.RsaKey.ExportRSAPrivateKeyPem()),
        OutputDirectory = _out,
        InitialBackoff = TimeSpan.FromMilliseconds(100),
    };

    [Fact]
    public async Task The_export_command_kicks_off_polls_downloads_resuming_a_dropped_file_and_reviews_the_same_patients_as_the_source()
    {
        var observation = fixture.Server.Files.Keys.First(k => k.StartsWith("Observation"));
        fixture.Server.DropMidFile(observation);
        var key = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".pem");
        await File.WriteAllTextAsync(key, fixture.EcKey.ExportECPrivateKeyPem());
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await ReviewCommand.RunAsync(
            ["export", "--fhir", fixture.Server.FhirBase.ToString(), "--group", "clinic", "--client-id", "clinic-review", "--key", key, "--kid", "ec-1",
             "--out", _out, "--no-validate", "--no-progress", "--as-of", "2026-12-01"], stdout, stderr, CancellationToken.None);
        File.Delete(key);

        Assert.True(code == ExitCodes.Ok, stderr.ToString());
        Assert.Contains("export in progress: ", stderr.ToString());
        Assert.Contains($"resuming {observation.Split('.')[0]}.", stderr.ToString());
        // The dropped file was asked for again from the byte where it broke, and arrived whole.
        Assert.Contains(fixture.Server.Log, l => l.StartsWith($"GET {observation} range=bytes=") && !l.EndsWith("range="));
        var downloaded = Directory.GetFiles(Path.Combine(_out, "export"), "*.ndjson").Select(File.ReadAllBytes).Select(Convert.ToHexString).Order().ToList();
        Assert.Equal(fixture.Server.Files.Values.Select(Convert.ToHexString).Order(), downloaded);

        var direct = await new ClinicReview(engine.Engine).RunAsync(new ReviewOptions
        {
            InputPath = fixture.ExportDirectory, OutputDirectory = Path.Combine(_out, "direct"), AsOf = Fhir.AsOf, ValidateAssessments = false,
        });
        using var rows = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_out, "report", "rows.json")));
        Assert.True(direct.Rows.Count > 0);
        Assert.Equal(direct.Rows.Select(r => r.PatientId), rows.RootElement.EnumerateArray().Select(r => r.GetProperty("patientId").GetString()));
    }

    [Fact]
    public async Task A_Patient_level_export_authorizes_with_an_RS384_client_assertion()
    {
        var result = await new BulkExportClient(new HttpClient(), Options(group: null, clientId: "clinic-review-rsa", alg: "RS384")).RunAsync(CancellationToken.None);
        Assert.Equal(fixture.Server.Files.Count, result.Files.Count);
        Assert.Empty(result.Errors);
    }

    [Fact]
    public async Task An_assertion_signed_with_a_key_the_server_has_not_registered_is_refused_plainly()
    {
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var client = new BulkExportClient(new HttpClient(), Options(pem: stranger.ExportECPrivateKeyPem()));
        var error = await Assert.ThrowsAsync<BulkExportException>(() => client.RunAsync(CancellationToken.None));
        Assert.Equal("the authorization server refused the token request (401: invalid_client: client_assertion rejected).", error.Message);
    }

    [Fact]
    public async Task A_refused_kick_off_reports_the_servers_OperationOutcome()
    {
        var error = await Assert.ThrowsAsync<BulkExportException>(() => new BulkExportClient(new HttpClient(), Options(group: "forbidden")).RunAsync(CancellationToken.None));
        Assert.Equal("the server refused the export request (403: this client may not export group forbidden).", error.Message);
    }

    [Fact]
    public async Task The_error_files_of_the_manifest_are_downloaded_and_their_messages_reported()
    {
        var result = await new BulkExportClient(new HttpClient(), Options(group: "partial")).RunAsync(CancellationToken.None);
        Assert.Equal(fixture.Server.Files.Count, result.Files.Count);
        Assert.Equal(["Observation: 3 resources could not be exported (storage timeout)"], result.ErrorMessages);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_on_the_next_run_without_a_second_kick_off()
    {
        var name = fixture.Server.Files.Keys.First(k => k.StartsWith("MedicationRequest"));
        fixture.Server.DropMidFile(name);
        var kickOffs = fixture.Server.KickOffs;
        var once = Options() with { MaxDownloadAttempts = 1 };

        var error = await Assert.ThrowsAsync<BulkExportException>(() => new BulkExportClient(new HttpClient(), once).RunAsync(CancellationToken.None));
        Assert.Contains("run the same command again to resume it", error.Message);
        var part = Directory.GetFiles(_out, "*.part").Single();
        Assert.InRange(new FileInfo(part).Length, 1, fixture.Server.Files[name].Length - 1);

        var result = await new BulkExportClient(new HttpClient(), once).RunAsync(CancellationToken.None);
        Assert.Equal(kickOffs + 1, fixture.Server.KickOffs);
        Assert.Equal(fixture.Server.Files.Count, result.Files.Count);
        Assert.Contains(fixture.Server.Log, l => l == $"GET {name} range=bytes={new FileInfo(Path.Combine(_out, "MedicationRequest.001.ndjson")).Length / 2}-" || l.StartsWith($"GET {name} range=bytes="));
        Assert.Equal(fixture.Server.Files[name], await File.ReadAllBytesAsync(result.Files.Single(f => f.EndsWith("MedicationRequest.001.ndjson"))));
    }

    [Fact]
    public async Task A_started_export_can_be_cancelled_with_DELETE()
    {
        fixture.Server.PollsBeforeDone = 2;
        var client = new BulkExportClient(new HttpClient(), Options() with { MaxWait = TimeSpan.FromMilliseconds(1) });
        // MaxWait elapses on the first poll: the job is left running on the server, its status URL recorded.
        await Assert.ThrowsAsync<BulkExportException>(() => client.RunAsync(CancellationToken.None));
        var state = await File.ReadAllTextAsync(Path.Combine(_out, ".bulk", "state.json"));
        var job = int.Parse(state.Split("jobs/")[1].Split('"')[0]);

        await client.CancelAsync(CancellationToken.None);

        Assert.True(fixture.Server.IsCancelled(job));
        Assert.False(File.Exists(Path.Combine(_out, ".bulk", "state.json")));
    }

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, true);
        }
    }
}
