using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KetamineCds.Review.Bulk;

/// <summary>The export could not be run or fetched: said in one line (exit code 69).</summary>
public sealed class BulkExportException(string message) : Exception(message);

/// <summary>How to reach the FHIR server's $export and authorize (SMART Backend Services).</summary>
public sealed record BulkExportOptions
{
    public required Uri FhirBaseUrl { get; init; }

    /// <summary>Group/[id]/$export; null: Patient/$export (all patients).</summary>
    public string? GroupId { get; init; }
    public required string ClientId { get; init; }
    public required string PrivateKeyPem { get; init; }
    public required string KeyId { get; init; }

    /// <summary>ES384 or RS384 (the algorithms SMART Backend Services requires servers to support).</summary>
    public string Algorithm { get; init; } = "ES384";
    public string Scope { get; init; } = "system/*.rs";
    public string? Since { get; init; }

    /// <summary>Where the NDJSON files go; the job's state is kept in its .bulk folder so a second run resumes.</summary>
    public required string OutputDirectory { get; init; }
    public IReadOnlyList<string> Types { get; init; } = ["Patient", "MedicationStatement", "MedicationRequest", "Medication", "Observation"];

    /// <summary>The longest the export may take before the client gives up (the job stays on the server).</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromHours(6);

    /// <summary>A Retry-After longer than this is shortened to it, so a server cannot park the client for a day.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Waits without a Retry-After start here and double up to <see cref="MaxRetryAfter"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>429 and 5xx answers retried in a row before giving up.</summary>
    public int MaxTransientRetries { get; init; } = 8;

    /// <summary>Attempts per file download in one run (each resumes where the last stopped).</summary>
    public int MaxDownloadAttempts { get; init; } = 5;
}

/// <summary>What the export produced.</summary>
public sealed record BulkExportResult(IReadOnlyList<string> Files, IReadOnlyList<string> Errors, IReadOnlyList<string> ErrorMessages, string? TransactionTime);

/// <summary>
/// A FHIR Bulk Data Access (v2) client: kick-off ($export with Prefer: respond-async, 202 + Content-Location), status
/// polling that honours Retry-After (and X-Progress for the log), with bounded backoff on 429 and 5xx, the completion
/// manifest (output and error NDJSON URLs, requiresAccessToken), downloads that resume an interrupted file with an HTTP
/// Range request, and DELETE to cancel. The job's state (status URL, manifest, finished files) is kept in
/// [out]/.bulk/state.json, so running the same command again continues the same job rather than starting another.
/// </summary>
public sealed class BulkExportClient
{
    private static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly HttpClient _http;
    private readonly BulkExportOptions _options;
    private readonly IProgress<string>? _log;
    private readonly BackendServicesAuth _auth;

    public BulkExportClient(HttpClient http, BulkExportOptions options, IProgress<string>? log = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = log;
        _auth = new BackendServicesAuth(http, options);
    }

    private string StateDirectory => Path.Combine(_options.OutputDirectory, ".bulk");
    private string StatePath => Path.Combine(StateDirectory, "state.json");

    /// <summary>Kicks off (or continues) the export, waits for it, downloads every output; returns the files.</summary>
    public async Task<BulkExportResult> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StateDirectory);
        var state = LoadState();
        if (state.StatusUrl is null)
        {
            state = state with { StatusUrl = await KickOffAsync(cancellationToken) };
            SaveState(state);
        }
        else
        {
            _log?.Report($"continuing the export job at {state.StatusUrl}");
        }

        if (state.Manifest is null)
        {
            state = state with { Manifest = await PollAsync(new Uri(state.StatusUrl), cancellationToken) };
            SaveState(state);
        }

        var manifest = ReadManifest(state.Manifest);
        var files = new List<string>();
        var completed = new HashSet<string>(state.Completed, StringComparer.Ordinal);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (type, url) in manifest.Output)
        {
            index[type] = index.GetValueOrDefault(type) + 1;
            var name = $"{Safe(type)}.{index[type]:000}.ndjson";
            var path = Path.Combine(_options.OutputDirectory, name);
            if (!completed.Contains(url) || !File.Exists(path))
            {
                await DownloadAsync(new Uri(url), path, manifest.RequiresAccessToken, cancellationToken);
                completed.Add(url);
                state = state with { Completed = [.. completed] };
                SaveState(state);
            }

            files.Add(path);
        }

        var errors = new List<string>();
        var messages = new List<string>();
        var e = 0;
        foreach (var url in manifest.Error)
        {
            var path = Path.Combine(StateDirectory, $"error.{++e:000}.ndjson");
            await DownloadAsync(new Uri(url), path, manifest.RequiresAccessToken, cancellationToken);
            errors.Add(path);
            messages.AddRange(OperationOutcomeMessages(path));
        }

        return new BulkExportResult(files, errors, messages, manifest.TransactionTime);
    }

    /// <summary>DELETE on the status URL: the server stops the job and may delete its files (Bulk Data: "Delete a Bulk Data Request").</summary>
    public async Task CancelAsync(CancellationToken cancellationToken)
    {
        var state = LoadState();
        if (state.StatusUrl is null)
        {
            throw new BulkExportException($"no export job is recorded in {StatePath}.");
        }

        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, state.StatusUrl), true, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.NoContent or HttpStatusCode.NotFound))
        {
            throw new BulkExportException($"the server did not cancel the export ({(int)response.StatusCode}{await OutcomeText(response, cancellationToken)}).");
        }

        File.Delete(StatePath);
    }

    private async Task<string> KickOffAsync(CancellationToken cancellationToken)
    {
        var path = _options.GroupId is { } group ? $"Group/{Uri.EscapeDataString(group)}/$export" : "Patient/$export";
        var query = $"?_type={string.Join(',', _options.Types)}" + (_options.Since is { } since ? $"&_since={Uri.EscapeDataString(since)}" : "");
        var url = new Uri(_options.FhirBaseUrl, path + query);
        var transient = 0;
        while (true)
        {
            using var response = await SendAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
                request.Headers.Add("Prefer", "respond-async");
                return request;
            }, true, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var location = response.Content.Headers.ContentLocation ?? response.Headers.Location;
                if (location is null)
                {
                    throw new BulkExportException("the server accepted the export but sent no Content-Location to poll.");
                }

                var status = location.IsAbsoluteUri ? location : new Uri(url, location);
                _log?.Report($"export started; polling {status}");
                return status.ToString();
            }

            if (IsTransient(response.StatusCode) && ++transient <= _options.MaxTransientRetries)
            {
                await WaitAsync(response, transient, cancellationToken);
                continue;
            }

            throw new BulkExportException($"the server refused the export request ({(int)response.StatusCode}{await OutcomeText(response, cancellationToken)}).");
        }
    }

    private async Task<string> PollAsync(Uri status, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _options.MaxWait;
        var transient = 0;
        var polls = 0;
        while (true)
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new BulkExportException($"the export did not complete within {_options.MaxWait}; run the same command again to keep waiting for it.");
            }

            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, status), true, cancellationToken);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    return await response.Content.ReadAsStringAsync(cancellationToken);
                case HttpStatusCode.Accepted:
                    transient = 0;
                    polls++;
                    if (response.Headers.TryGetValues("X-Progress", out var progress))
                    {
                        _log?.Report($"export in progress: {string.Join(' ', progress)}");
                    }

                    await WaitAsync(response, polls, cancellationToken);
                    continue;
                case var code when IsTransient(code) && ++transient <= _options.MaxTransientRetries:
                    await WaitAsync(response, transient, cancellationToken);
                    continue;
                default:
                    throw new BulkExportException($"the export failed ({(int)response.StatusCode}{await OutcomeText(response, cancellationToken)}).");
            }
        }
    }

    /// <summary>Downloads one file to a .part file, resuming with Range when one is there, then renames it.</summary>
    private async Task DownloadAsync(Uri url, string path, bool requiresAccessToken, CancellationToken cancellationToken)
    {
        var part = path + ".part";
        for (var attempt = 1; ; attempt++)
        {
            var have = File.Exists(part) ? new FileInfo(part).Length : 0;
            try
            {
                using var response = await SendAsync(() =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+ndjson"));
                    if (have > 0)
                    {
                        request.Headers.Range = new RangeHeaderValue(have, null);
                    }

                    return request;
                }, requiresAccessToken, cancellationToken, HttpCompletionOption.ResponseHeadersRead);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    // The part file already holds the whole file.
                    break;
                }

                if (IsTransient(response.StatusCode) && attempt < _options.MaxDownloadAttempts)
                {
                    await WaitAsync(response, attempt, cancellationToken);
                    continue;
                }

                if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.PartialContent))
                {
                    throw new BulkExportException($"could not download {url} ({(int)response.StatusCode}{await OutcomeText(response, cancellationToken)}).");
                }

                var resume = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
                if (have > 0)
                {
                    _log?.Report(resume ? $"resuming {Path.GetFileName(path)} at byte {have}" : $"the server cannot resume {Path.GetFileName(path)}; downloading it again");
                }

                await using (var file = new FileStream(part, resume ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
                {
                    await body.CopyToAsync(file, cancellationToken);
                }

                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= _options.MaxDownloadAttempts)
                {
                    throw new BulkExportException($"the download of {url} was interrupted {attempt} times ({ex.Message}); run the same command again to resume it.");
                }

                _log?.Report($"the download of {Path.GetFileName(path)} was interrupted ({ex.GetType().Name}); resuming");
                await Task.Delay(Backoff(attempt), cancellationToken);
            }
        }

        File.Move(part, path, overwrite: true);
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, bool authorize, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        for (var renewed = false; ; renewed = true)
        {
            using var request = build();
            if (authorize)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _auth.GetAccessTokenAsync(renewed, cancellationToken));
            }

            var response = await _http.SendAsync(request, completion, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Unauthorized && authorize && !renewed)
            {
                // The token expired or was revoked mid-export: one new token, then the answer stands.
                response.Dispose();
                continue;
            }

            return response;
        }
    }

    private static bool IsTransient(HttpStatusCode code) => code is HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError and not HttpStatusCode.NotImplemented;

    /// <summary>Retry-After (seconds or an HTTP date), capped; without one, exponential backoff from the initial wait.</summary>
    private Task WaitAsync(HttpResponseMessage response, int attempt, CancellationToken cancellationToken)
    {
        var retry = response.Headers.RetryAfter;
        var wait = retry?.Delta ?? (retry?.Date is { } date ? date - DateTimeOffset.UtcNow : Backoff(attempt));
        if (wait < TimeSpan.Zero)
        {
            wait = TimeSpan.Zero;
        }

        return Task.Delay(wait > _options.MaxRetryAfter ? _options.MaxRetryAfter : wait, cancellationToken);
    }

    private TimeSpan Backoff(int attempt)
    {
        var wait = _options.InitialBackoff * Math.Pow(2, Math.Min(attempt - 1, 16));
        return wait > _options.MaxRetryAfter ? _options.MaxRetryAfter : wait;
    }

    private static async Task<string> OutcomeText(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var messages = OutcomeMessages(text).ToList();
            return messages.Count > 0 ? ": " + string.Join("; ", messages) : "";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return "";
        }
    }

    private static IEnumerable<string> OutcomeMessages(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            yield break;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("issue", out var issues) || issues.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }

            foreach (var issue in issues.EnumerateArray())
            {
                var text = issue.TryGetProperty("diagnostics", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()
                    : issue.TryGetProperty("details", out var details) && details.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
                    : issue.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (!string.IsNullOrWhiteSpace(text))
                {
                    yield return text.Length > 300 ? text[..300] : text;
                }
            }
        }
    }

    private static List<string> OperationOutcomeMessages(string path) =>
        File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).SelectMany(OutcomeMessages).ToList();

    private sealed record Manifest(string? TransactionTime, bool RequiresAccessToken, IReadOnlyList<(string Type, string Url)> Output, IReadOnlyList<string> Error);

    private Manifest ReadManifest(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var output = new List<(string, string)>();
            var errors = new List<string>();
            if (root.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in o.EnumerateArray())
                {
                    if (item.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String)
                    {
                        var type = item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "Resource";
                        output.Add((type, Absolute(url.GetString()!)));
                    }
                }
            }

            if (root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Array)
            {
                errors.AddRange(e.EnumerateArray()
                    .Where(i => i.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String)
                    .Select(i => Absolute(i.GetProperty("url").GetString()!)));
            }

            var requires = root.TryGetProperty("requiresAccessToken", out var r) && r.ValueKind == JsonValueKind.True;
            var transactionTime = root.TryGetProperty("transactionTime", out var tt) && tt.ValueKind == JsonValueKind.String ? tt.GetString() : null;
            return new Manifest(transactionTime, requires, output, errors);
        }
        catch (JsonException)
        {
            throw new BulkExportException("the export's completion manifest is not valid JSON.");
        }
    }

    private string Absolute(string url) => new Uri(_options.FhirBaseUrl, url).ToString();

    private static string Safe(string type) => string.Concat(type.Where(char.IsAsciiLetterOrDigit));

    private sealed record State(string? StatusUrl, string? Manifest, IReadOnlyList<string> Completed);

    private State LoadState()
    {
        if (!File.Exists(StatePath))
        {
            return new State(null, null, []);
        }

        try
        {
            return JsonSerializer.Deserialize<State>(File.ReadAllText(StatePath), StateJson) ?? new State(null, null, []);
        }
        catch (JsonException)
        {
            throw new BulkExportException($"the export state {StatePath} is damaged; delete it to start a new export.");
        }
    }

    private void SaveState(State state)
    {
        var temp = StatePath + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(state, StateJson));
        File.Move(temp, StatePath, overwrite: true);
    }

}
