using System.Globalization;
using KetamineCds.Review.Bulk;
using KetamineCds.Review.Evaluation;
using KetamineCds.Review.Grouping;
using KetamineCds.Review.Reports;
using KetamineCds.Review.Synthetic;
using Spectre.Console;

namespace KetamineCds.Review.Cli;

/// <summary>Exit codes (docs/review.md): sysexits.h values where one fits.</summary>
public static class ExitCodes
{
    /// <summary>The report was written; every record was read (or, without --strict, unreadable ones were counted in it).</summary>
    public const int Ok = 0;

    /// <summary>With --strict: the report was written but some records could not be read (see summary.json).</summary>
    public const int UnreadableRecords = 3;

    /// <summary>The command line is wrong.</summary>
    public const int Usage = 64;

    /// <summary>No export at the path, or nothing in it could be read.</summary>
    public const int NoInput = 66;

    /// <summary>The Bulk Data server or its authorization server refused or failed.</summary>
    public const int ExportFailed = 69;

    /// <summary>An unexpected error (reported in one line, no stack trace).</summary>
    public const int Internal = 70;

    /// <summary>The output could not be written.</summary>
    public const int CannotWrite = 74;

    /// <summary>Interrupted (Ctrl+C); a Bulk Data download resumes with the same command.</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// ketamine-review: review a clinic's Bulk Data export, fetch one ($export), or generate a synthetic one.
/// Every failure is one plain line on stderr with an exit code; never a stack trace.
/// </summary>
public static class ReviewCommand
{
    public const string Usage = """
        ketamine-review: review a clinic's patients on ketamine/esketamine from a FHIR Bulk Data export

        ketamine-review review <export-dir-or-file> --out <dir> [options]
            --shard i/N              review only the patients of shard i of N (stable hash of the patient id)
            --as-of <date>           which medications are current (default: now), e.g. 2026-12-01
            --feedback-db <path>     the feedback store (SQLite) for the "latest feedback" column
            --feedback-postgres <c>  the feedback store (PostgreSQL connection string) instead
                                     (either needs the service's patient id hash key in
                                     KetamineCds__Security__Audit__PatientIdHashKey)
            --no-validate            do not validate QIDS-SR/CADSS Observations against the KetamineCds profiles
            --knowledge <dir>        a reviewed copy of fhir-profiles instead of the embedded one
            --threshold <mg/day>     a site's benzodiazepine threshold (lorazepam equivalents)
            --buckets <n>            spill buckets (default 64; more buckets, less memory)
            --workers <n>            parallel workers (default: processor count)
            --strict                 exit 3 when some records could not be read
            --no-progress            no progress bar (implied when the output is not a terminal)

        ketamine-review export --fhir <base-url> (--group <id> | --patients) --client-id <id> --key <pem> --kid <kid>
                               --out <dir> [--alg ES384|RS384] [--scope <scope>] [--since <instant>] [--no-review] [review options]
            runs $export with SMART Backend Services authorization, downloads the NDJSON (resuming an interrupted
            download when run again with the same --out), then reviews it into <dir>/report
        ketamine-review export-cancel --out <dir> (same auth options): cancels the export job recorded in <dir>

        ketamine-review generate --out <dir> [--patients 10000] [--seed 1] [--as-of <date>]
            writes a synthetic export (invented data) and its ground truth (.ground-truth.json)

        Exit codes: 0 written; 3 written but records unreadable (--strict); 64 usage; 66 no input; 69 export failed;
        70 unexpected error; 74 cannot write output; 130 interrupted.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                await stdout.WriteLineAsync(Usage);
                return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
            }

            var parsed = Arguments.Parse(args.Skip(1).ToArray(), out var error);
            if (parsed is null)
            {
                return await Fail(stderr, ExitCodes.Usage, error!);
            }

            return args[0] switch
            {
                "review" => await ReviewAsync(parsed, stdout, stderr, interrupt.Token),
                "generate" => await GenerateAsync(parsed, stdout, stderr),
                "export" => await ExportAsync(parsed, stdout, stderr, interrupt.Token),
                "export-cancel" => await CancelExportAsync(parsed, stdout, stderr, interrupt.Token),
                _ => await Fail(stderr, ExitCodes.Usage, $"unknown command '{args[0]}'; run ketamine-review --help"),
            };
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            return await Fail(stderr, ExitCodes.Interrupted, "interrupted; nothing was written. A Bulk Data download resumes when the same command is run again.");
        }
        catch (ReviewInputException ex)
        {
            return await Fail(stderr, ExitCodes.NoInput, ex.Message);
        }
        catch (BulkExportException ex)
        {
            return await Fail(stderr, ExitCodes.ExportFailed, ex.Message);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return await Fail(stderr, ExitCodes.CannotWrite, $"cannot read or write a file: {ex.Message}");
        }
#pragma warning disable CA1031 // The command's boundary: one plain line and an exit code, never a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return await Fail(stderr, ExitCodes.Internal, $"unexpected error ({ex.GetType().Name}): {ex.Message}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> Fail(TextWriter stderr, int code, string message)
    {
        await stderr.WriteLineAsync($"ketamine-review: {message}");
        return code;
    }

    internal static ReviewOptions? ReviewOptionsFrom(Arguments a, string input, string output, out string? error)
    {
        error = null;
        var shard = ShardSpec.All;
        if (a.Get("shard") is { } s && ShardSpec.Parse(s, out error) is not { } parsedShard)
        {
            return null;
        }
        else if (a.Get("shard") is not null)
        {
            shard = ShardSpec.Parse(a.Get("shard")!, out _)!;
        }

        DateTimeOffset? asOf = null;
        if (a.Get("as-of") is { } asOfText)
        {
            if (!DateTimeOffset.TryParse(asOfText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsedAsOf))
            {
                error = $"--as-of must be a date or instant (e.g. 2026-12-01), not '{asOfText}'";
                return null;
            }

            asOf = parsedAsOf;
        }

        decimal? threshold = null;
        if (a.Get("threshold") is { } t)
        {
            if (!decimal.TryParse(t, NumberStyles.Number, CultureInfo.InvariantCulture, out var mg) || mg <= 0 || mg > 100)
            {
                error = $"--threshold must be mg/day lorazepam equivalents between 0 and 100, not '{t}'";
                return null;
            }

            threshold = mg;
        }

        if (!a.TryInt("buckets", 64, 1, 4096, out var buckets, out error) || !a.TryInt("workers", Environment.ProcessorCount, 1, 16, out var workers, out error))
        {
            return null;
        }

        if (a.Get("feedback-db") is { } db && !File.Exists(db))
        {
            error = $"--feedback-db: no such file {db}";
            return null;
        }

        return new ReviewOptions
        {
            InputPath = input,
            OutputDirectory = output,
            Shard = shard,
            AsOf = asOf,
            Buckets = buckets,
            Workers = workers,
            ValidateAssessments = !a.Has("no-validate"),
            KnowledgeDirectory = a.Get("knowledge"),
            BenzodiazepineThresholdLorazepamMgPerDay = threshold,
            Feedback = null,
        };
    }

    private static async Task<int> ReviewAsync(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (a.Positional.Count != 1 || a.Get("out") is not { } output)
        {
            return await Fail(stderr, ExitCodes.Usage, "review needs an export path and --out <dir>; run ketamine-review --help");
        }

        if (!File.Exists(a.Positional[0]) && !Directory.Exists(a.Positional[0]))
        {
            return await Fail(stderr, ExitCodes.NoInput, $"no export at {a.Positional[0]}");
        }

        if (ReviewOptionsFrom(a, a.Positional[0], output, out var error) is not { } options)
        {
            return await Fail(stderr, ExitCodes.Usage, error!);
        }

        return await RunReviewAsync(options, a, stdout, stderr, cancellationToken);
    }

    /// <summary>The environment variable the service reads its patient id hash key from (docs/security.md).</summary>
    public const string HashKeyVariable = "KetamineCds__Security__Audit__PatientIdHashKey";

    internal static async Task<int> RunReviewAsync(ReviewOptions options, Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var sqlite = a.Get("feedback-db");
        var postgres = a.Get("feedback-postgres");
        if (sqlite is null && postgres is null)
        {
            return await RunReviewAsync(options, a.Has("strict"), !a.Has("no-progress"), stdout, stderr, cancellationToken);
        }

        if (sqlite is not null && postgres is not null)
        {
            return await Fail(stderr, ExitCodes.Usage, "give --feedback-db or --feedback-postgres, not both");
        }

        var key = a.Get("patient-hash-key") ?? Environment.GetEnvironmentVariable(HashKeyVariable);
        if (string.IsNullOrWhiteSpace(key))
        {
            return await Fail(stderr, ExitCodes.Usage, $"the feedback store keys patients by the service's hash key: set {HashKeyVariable} (base64, as the service has it)");
        }

        var (lookup, store) = await StoreFeedbackLookup.OpenAsync(sqlite, postgres, key, cancellationToken);
        await using (store)
        {
            return await RunReviewAsync(options with { Feedback = lookup }, a.Has("strict"), !a.Has("no-progress"), stdout, stderr, cancellationToken);
        }
    }

    internal static async Task<int> RunReviewAsync(ReviewOptions options, bool strict, bool progressBar, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var engine = await ClinicalEngine.CreateAsync(options, cancellationToken);
        var startup = started.Elapsed;
        var review = new ClinicReview(engine);
        ReviewResult result;
        if (progressBar && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            result = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async context =>
                {
                    var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                    var progress = new SynchronousProgress(p =>
                    {
                        lock (tasks)
                        {
                            if (!tasks.TryGetValue(p.Phase, out var task))
                            {
                                tasks[p.Phase] = task = context.AddTask(p.Phase, maxValue: Math.Max(1, p.Total));
                            }

                            task.Value = p.Done;
                        }
                    });
                    return await review.RunAsync(options, progress, cancellationToken);
                });
        }
        else
        {
            result = await review.RunAsync(options, null, cancellationToken);
        }

        await ReportWriters.WriteAllAsync(result, options.OutputDirectory, cancellationToken);
        var s = result.Summary;
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Reviewed {s.ResourcesByType.Values.Sum()} resources of {s.PatientsInShard} patients (shard {s.Shard}) in {s.ElapsedSeconds:0.0} s after a {startup.TotalSeconds:0.0} s start (knowledge{(options.ValidateAssessments ? ", validator" : "")}): {s.PatientsOnKetamine} on ketamine/esketamine."));
        await stdout.WriteLineAsync("Findings: " + (s.Findings.Count == 0 ? "none" : string.Join(", ", s.Findings.Select(f => $"{f.Key} {f.Value}"))));
        foreach (var m in s.MissingResourceTypes)
        {
            await stderr.WriteLineAsync($"ketamine-review: {m}");
        }

        if (s.UnreadableRecords > 0)
        {
            await stderr.WriteLineAsync($"ketamine-review: {s.UnreadableRecords} record(s) could not be read and were skipped:");
            foreach (var u in s.UnreadableDetails.Take(20))
            {
                await stderr.WriteLineAsync($"  {u.File}:{u.Line}: {u.Reason}");
            }

            if (s.UnreadableRecords > 20)
            {
                await stderr.WriteLineAsync($"  ... {s.UnreadableRecords - 20} more in {ReportWriters.Summary}");
            }
        }

        var resourcesNamingNoPatient = s.ResourcesNamingNoPatient.Values.Sum();
        if (resourcesNamingNoPatient > 0)
        {
            await stderr.WriteLineAsync($"ketamine-review: {resourcesNamingNoPatient} resource(s) name no patient and were not reviewed ({string.Join(", ", s.ResourcesNamingNoPatient.Select(t => $"{t.Key} {t.Value}"))}).");
        }

        await stdout.WriteLineAsync($"Wrote {Path.Combine(options.OutputDirectory, ReportWriters.Html)}, {ReportWriters.Csv}, {ReportWriters.Json}, {ReportWriters.Summary}. The report holds PHI.");
        return strict && s.UnreadableRecords > 0 ? ExitCodes.UnreadableRecords : ExitCodes.Ok;
    }

    private static async Task<int> GenerateAsync(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        if (a.Get("out") is not { } output)
        {
            return await Fail(stderr, ExitCodes.Usage, "generate needs --out <dir>");
        }

        if (!a.TryInt("patients", 10_000, 1, 10_000_000, out var patients, out var error) || !a.TryInt("seed", 1, int.MinValue, int.MaxValue, out var seed, out error))
        {
            return await Fail(stderr, ExitCodes.Usage, error!);
        }

        var asOf = a.Get("as-of") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d)
            ? d : new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var truth = SyntheticExport.Write(output, patients, seed, asOf);
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {truth.Resources} resources of {truth.Patients} patients ({truth.KetaminePatients} on ketamine/esketamine, {truth.MalformedLines} malformed lines) to {output}; as of {asOf:yyyy-MM-dd}."));
        return ExitCodes.Ok;
    }

    private static async Task<int> ExportAsync(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (BulkOptionsFrom(a, out var error) is not { } bulk)
        {
            return await Fail(stderr, ExitCodes.Usage, error!);
        }

        var exportDirectory = Path.Combine(bulk.OutputDirectory, "export");
        var reportDirectory = Path.Combine(bulk.OutputDirectory, "report");
        if (!a.Has("no-review") && ReviewOptionsFrom(a, exportDirectory, reportDirectory, out error) is null)
        {
            return await Fail(stderr, ExitCodes.Usage, error!);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var client = new BulkExportClient(http, bulk with { OutputDirectory = exportDirectory }, new Progress<string>(m => stderr.WriteLine($"ketamine-review: {m}")));
        var manifest = await client.RunAsync(cancellationToken);
        await stdout.WriteLineAsync($"Downloaded {manifest.Files.Count} file(s) to {exportDirectory} ({manifest.Errors.Count} error file(s)).");
        foreach (var e in manifest.ErrorMessages)
        {
            await stderr.WriteLineAsync($"ketamine-review: the server reported: {e}");
        }

        if (a.Has("no-review"))
        {
            return ExitCodes.Ok;
        }

        var options = ReviewOptionsFrom(a, exportDirectory, reportDirectory, out _)!;
        return await RunReviewAsync(options, a, stdout, stderr, cancellationToken);
    }

    private static async Task<int> CancelExportAsync(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (BulkOptionsFrom(a, out var error) is not { } bulk)
        {
            return await Fail(stderr, ExitCodes.Usage, error!);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        var client = new BulkExportClient(http, bulk with { OutputDirectory = Path.Combine(bulk.OutputDirectory, "export") });
        await client.CancelAsync(cancellationToken);
        await stdout.WriteLineAsync("The export job was cancelled.");
        return ExitCodes.Ok;
    }

    internal static BulkExportOptions? BulkOptionsFrom(Arguments a, out string? error)
    {
        error = null;
        if (a.Get("fhir") is not { } fhir || !Uri.TryCreate(fhir.TrimEnd('/') + "/", UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("https" or "http"))
        {
            error = "export needs --fhir <base-url> (https)";
            return null;
        }

        if (baseUrl.Scheme == "http" && !baseUrl.IsLoopback)
        {
            error = "--fhir must be https (http only on loopback, for tests)";
            return null;
        }

        if (a.Get("out") is not { } output || a.Get("client-id") is not { } clientId || a.Get("key") is not { } keyPath || a.Get("kid") is not { } kid)
        {
            error = "export needs --out <dir>, --client-id, --key <private key PEM> and --kid";
            return null;
        }

        if (a.Has("group") == a.Has("patients"))
        {
            error = "export needs exactly one of --group <id> or --patients";
            return null;
        }

        var alg = a.Get("alg") ?? "ES384";
        if (alg is not ("ES384" or "RS384"))
        {
            error = "--alg must be ES384 or RS384 (SMART Backend Services)";
            return null;
        }

        if (!File.Exists(keyPath))
        {
            error = $"--key: no such file {keyPath}";
            return null;
        }

        return new BulkExportOptions
        {
            FhirBaseUrl = baseUrl,
            GroupId = a.Get("group"),
            ClientId = clientId,
            PrivateKeyPem = File.ReadAllText(keyPath),
            KeyId = kid,
            Algorithm = alg,
            Scope = a.Get("scope") ?? "system/Patient.rs system/MedicationStatement.rs system/MedicationRequest.rs system/Medication.rs system/Observation.rs",
            Since = a.Get("since"),
            OutputDirectory = output,
        };
    }

    private sealed class SynchronousProgress(Action<ReviewProgress> report) : IProgress<ReviewProgress>
    {
        public void Report(ReviewProgress value) => report(value);
    }
}

/// <summary>--name value pairs, --flags and positional arguments.</summary>
public sealed class Arguments
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "no-validate", "strict", "no-progress", "patients", "no-review" };
    private readonly Dictionary<string, string?> _named = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = [];

    public static Arguments? Parse(string[] args, out string? error)
    {
        error = null;
        var result = new Arguments();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                result.Positional.Add(arg);
                continue;
            }

            var name = arg[2..];
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result._named[name[..eq]] = name[(eq + 1)..];
            }
            else if (Flags.Contains(name) && !(name == "patients" && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out _)))
            {
                result._named[name] = null;
            }
            else if (i + 1 < args.Length)
            {
                result._named[name] = args[++i];
            }
            else
            {
                error = $"--{name} needs a value";
                return null;
            }
        }

        return result;
    }

    public bool Has(string name) => _named.ContainsKey(name);

    public string? Get(string name) => _named.TryGetValue(name, out var v) ? v : null;

    public bool TryInt(string name, int fallback, int min, int max, out int value, out string? error)
    {
        error = null;
        value = fallback;
        if (Get(name) is not { } text)
        {
            return true;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            error = $"--{name} must be a whole number between {min} and {max}, not '{text}'";
            return false;
        }

        return true;
    }
}
