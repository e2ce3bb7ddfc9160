namespace KetamineCds.Review;

/// <summary>What the review reads and how (operational settings; the clinical knowledge comes from fhir-profiles).</summary>
public sealed record ReviewOptions
{
    /// <summary>The export: a directory of NDJSON (.ndjson, .ndjson.gz) and/or Bundle (.json) files, or one such file.</summary>
    public required string InputPath { get; init; }

    /// <summary>Where the report, CSV, JSON and summary are written.</summary>
    public required string OutputDirectory { get; init; }

    public Grouping.ShardSpec Shard { get; init; } = Grouping.ShardSpec.All;

    /// <summary>The date the review is "as of" (which medications are current); default now.</summary>
    public DateTimeOffset? AsOf { get; init; }

    /// <summary>Spill bucket files; more buckets, less memory in the second pass.</summary>
    public int Buckets { get; init; } = 64;

    /// <summary>Parallel workers (default: processor count).</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Where the spill files go (default: a new directory under the output directory, deleted at the end).</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Validate QIDS-SR/CADSS Observations against the KetamineCds profiles, as the hooks do by default.</summary>
    public bool ValidateAssessments { get; init; } = true;

    /// <summary>A directory of fhir-profiles to load instead of the embedded defaults (as the service's KnowledgeDirectory).</summary>
    public string? KnowledgeDirectory { get; init; }

    /// <summary>A site's benzodiazepine threshold (mg/day lorazepam equivalents); null uses the article's.</summary>
    public decimal? BenzodiazepineThresholdLorazepamMgPerDay { get; init; }

    /// <summary>A site's own codes for the assessment totals (as the service's AssessmentCodes).</summary>
    public IReadOnlyList<(Clinical.Outcomes.AssessmentKind Kind, string System, string Code)> AssessmentCodes { get; init; } = [];

    /// <summary>Where the FHIR core specification is unpacked for the validator (default $TMPDIR).</summary>
    public string? SpecificationExtractDirectory { get; init; }

    /// <summary>The feedback store the "latest feedback" column reads; null: not available.</summary>
    public IFindingFeedbackLookup? Feedback { get; init; }
}

/// <summary>The latest feedback on a finding (seam 7 of INTERFACES.md); implemented over the feedback store.</summary>
public interface IFindingFeedbackLookup
{
    /// <summary>A one-line description ("overridden: benefit outweighs risk, by X on date"), or null when there is none.</summary>
    Task<string?> LatestAsync(string patientId, string findingCode, CancellationToken cancellationToken);
}

/// <summary>One benzodiazepine (or Z-drug) line, as the calculation table shows it.</summary>
public sealed record BenzodiazepineRow(
    string Medication,
    string? Route,
    decimal? MgPerDay,
    string Calculation,
    decimal? LorazepamEquivalentMgPerDay,
    decimal? LorazepamEquivalentMgPerDayAlternate,
    string? NotCountedReason);

/// <summary>A medication whose daily dose could not be determined, and why.</summary>
public sealed record UndeterminedDose(string Medication, string Reason);

/// <summary>The QIDS-SR16 course (Joseph et al. 2023 definitions, from fhir-profiles), or why it is not available.</summary>
public sealed record QidsCourse(
    string Availability,
    decimal? Baseline,
    decimal? Latest,
    decimal? PercentChange,
    bool? Response,
    bool? Remission,
    int Scores,
    int ExcludedScores,
    DateTimeOffset? BaselineDate,
    DateTimeOffset? LatestDate);

/// <summary>One patient on ketamine/esketamine: one row of the report, the CSV and the JSON.</summary>
public sealed record ReviewRow
{
    /// <summary>The patient id as in the export (the pharmacist needs it to open the chart: the report holds PHI).</summary>
    public required string PatientId { get; init; }
    public string? PatientName { get; init; }
    public string? BirthDate { get; init; }
    public required IReadOnlyList<string> Ketamine { get; init; }
    public IReadOnlyList<string> Lamotrigine { get; init; } = [];
    public decimal? LamotrigineMgPerDay { get; init; }

    /// <summary>low / standard / unknown; null when the patient takes no lamotrigine.</summary>
    public string? LamotrigineCategory { get; init; }
    public IReadOnlyList<BenzodiazepineRow> Benzodiazepines { get; init; } = [];

    /// <summary>Lorazepam equivalents (mg/day) under the primary table (Ashton); null without a benzodiazepine.</summary>
    public decimal? BenzodiazepineTotalPrimary { get; init; }

    /// <summary>Lorazepam equivalents (mg/day) under the alternate table (VA/DoD 2021).</summary>
    public decimal? BenzodiazepineTotalAlternate { get; init; }
    public decimal? BenzodiazepineThresholdMgPerDay { get; init; }
    public IReadOnlyList<UndeterminedDose> UndeterminedDoses { get; init; } = [];
    public required QidsCourse Qids { get; init; }
    public required IReadOnlyList<string> Findings { get; init; }

    /// <summary>Finding code to its latest feedback ("not available" when no feedback store was given).</summary>
    public IReadOnlyDictionary<string, string> Feedback { get; init; } = new Dictionary<string, string>();

    /// <summary>This patient's records that could not be read (counted, never guessed).</summary>
    public int UnreadableRecords { get; init; }
}

/// <summary>A record that could not be read: where it is and why.</summary>
public sealed record UnreadableRecord(string File, long Line, string Reason);

/// <summary>The counts a pharmacist and an operator check first.</summary>
public sealed record ReviewSummary
{
    public required string Shard { get; init; }
    public required DateTimeOffset AsOf { get; init; }
    public required IReadOnlyList<string> Files { get; init; }
    public required IReadOnlyDictionary<string, long> ResourcesByType { get; init; }
    public long PatientsInExport { get; init; }
    public long PatientsInShard { get; init; }
    public long PatientsOnKetamine { get; init; }
    public required IReadOnlyDictionary<string, int> Findings { get; init; }
    public required IReadOnlyDictionary<string, int> LamotrigineCategories { get; init; }
    public long UnreadableRecords { get; init; }

    /// <summary>The first unreadable records with file and line (all are counted in <see cref="UnreadableRecords"/>).</summary>
    public required IReadOnlyList<UnreadableRecord> UnreadableDetails { get; init; }

    /// <summary>Records of patients on ketamine that the FHIR reader could not use (counted per patient on the rows).</summary>
    public long UnusableRecordsOfReviewedPatients { get; init; }

    /// <summary>Resources (by type) that name no patient, so cannot be reviewed.</summary>
    public required IReadOnlyDictionary<string, long> ResourcesNamingNoPatient { get; init; }

    /// <summary>Resource types the review reads that the export does not hold, with what follows.</summary>
    public required IReadOnlyList<string> MissingResourceTypes { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    public required string FeedbackSource { get; init; }
    public double ElapsedSeconds { get; init; }
}

/// <summary>The review's result: the rows (sorted by patient id) and the summary.</summary>
public sealed record ReviewResult(IReadOnlyList<ReviewRow> Rows, ReviewSummary Summary);

/// <summary>Progress of a long run, for the console's progress bar.</summary>
public sealed record ReviewProgress(string Phase, long Done, long Total);
