using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Tests.Profiles;

[Collection(ValidatorCollection.Name)]
public sealed class ProfileValidationTests(ValidatorFixture fixture)
{
    private static readonly IReadOnlyDictionary<string, string> Artifacts = KnowledgeLoader.ReadArtifacts();

    /// <summary>Every invalid example and the issue it must fail with. A new invalid example must be added here.</summary>
    private static readonly Dictionary<string, string> ExpectedIssues = new()
    {
        ["invalid-Observation-qids-sr16-total-out-of-range.json"] = "Value '31' is larger than 27",
        ["invalid-Observation-cadss-total-out-of-range.json"] = "Value '93' is larger than 92",
        ["invalid-Observation-qids-sr16-total-no-effective.json"] = "Missing required member: 'effective'",
        ["invalid-Observation-qids-sr16-total-no-subject.json"] = "Missing required member: 'subject'",
        ["invalid-Observation-qids-sr16-total-no-survey-category.json"] = "required slice: 'category:survey'",
        ["invalid-Observation-qids-sr16-total-wrong-code.json"] = "does not match pattern",
        ["invalid-Observation-qids-sr16-total-preliminary.json"] = "kcds-qids-1",
        ["invalid-Observation-qids-sr16-total-quantity.json"] = "(integer) is incompatible with that of the instance (Quantity)",
        ["invalid-MedicationRequest-ketamine-no-route.json"] = "Missing required member: 'route'",
        ["invalid-MedicationRequest-ketamine-no-dosage.json"] = "Missing required member: 'dosageInstruction'",
    };

    private static IEnumerable<string> ValidPaths =>
        Artifacts.Keys.Where(k => k.StartsWith("examples/") && !Path.GetFileName(k).StartsWith("invalid-")).Order();

    private static IEnumerable<string> InvalidPaths =>
        Artifacts.Keys.Where(k => k.StartsWith("examples/") && Path.GetFileName(k).StartsWith("invalid-")).Order();

    public static TheoryData<string> ValidExamples() => new(ValidPaths);

    public static TheoryData<string> InvalidExamples() => new(InvalidPaths);

    private static Resource Example(string path) => FhirJson.ReadStrict<Resource>(Artifacts[path]);

    private static string ProfileOf(Resource resource) => Assert.Single(resource.Meta?.Profile ?? [])!;

    [Fact]
    public void Every_profile_gets_a_generated_snapshot_and_none_is_authored_by_hand()
    {
        var files = Artifacts.Where(a => a.Key.StartsWith("profiles/StructureDefinition-")).ToList();
        Assert.Equal(3, files.Count);
        Assert.All(files, f => Assert.Null(FhirJson.ReadStrict<StructureDefinition>(f.Value).Snapshot));
        Assert.Equal(files.Count, fixture.Validator.Profiles.Count);
        Assert.All(fixture.Validator.Profiles, p => Assert.True(p.Snapshot?.Element.Count > 20, p.Url));
    }

    [Theory]
    [InlineData(ProfileValidator.QidsSr16Profile, 27)]
    [InlineData(ProfileValidator.CadssProfile, 92)]
    public void The_snapshot_carries_the_score_range_of_the_differential(string url, int max)
    {
        var profile = fixture.Validator.Profiles.Single(p => p.Url == url);
        var value = profile.Snapshot!.Element.Single(e => e.Path == "Observation.value[x]");
        Assert.Equal(1, value.Min);
        Assert.Equal("integer", Assert.Single(value.Type).Code);
        Assert.Equal(0, ((Integer)value.MinValue!).Value);
        Assert.Equal(max, ((Integer)value.MaxValue!).Value);
    }

    [Fact]
    public void Every_profile_has_a_valid_example_and_every_example_names_one_profile()
    {
        var examples = ValidPaths.Select(Example).ToList();
        foreach (var profile in fixture.Validator.Profiles)
        {
            Assert.Contains(examples, e => ProfileOf(e) == profile.Url);
        }
    }

    [Theory]
    [MemberData(nameof(ValidExamples))]
    public void Valid_examples_validate_against_their_profile(string path)
    {
        var resource = Example(path);
        var result = fixture.Validator.Validate(resource, ProfileOf(resource));
        Assert.True(result.IsValid, string.Join("\n", result.Issues));
    }

    [Theory]
    [MemberData(nameof(InvalidExamples))]
    public void Invalid_examples_fail_with_the_expected_issue(string path)
    {
        Assert.True(ExpectedIssues.TryGetValue(Path.GetFileName(path), out var expected), $"{path} has no expected issue in the test table.");
        var resource = Example(path);
        var result = fixture.Validator.Validate(resource, ProfileOf(resource));
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, i => i.Contains(expected));
    }

    [Fact]
    public void Every_expected_issue_has_its_invalid_example()
    {
        var files = InvalidPaths.Select(Path.GetFileName).ToHashSet();
        Assert.All(ExpectedIssues.Keys, k => Assert.Contains(k, files));
    }

    [Fact]
    public void Validation_uses_meta_profile_when_no_profile_is_given()
    {
        var result = fixture.Validator.Validate(Example("examples/invalid-Observation-qids-sr16-total-out-of-range.json"));
        Assert.False(result.IsValid);
    }

    [Fact]
    public void The_medication_binding_is_extensible_so_another_RxNorm_drug_is_not_an_error()
    {
        var order = (MedicationRequest)Example("examples/MedicationRequest-ketamine-iv-example.json");
        order.Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "6470", "lorazepam");
        Assert.True(fixture.Validator.Validate(order, ProfileValidator.KetamineOrderProfile).IsValid);
    }

    [Fact]
    public void An_unknown_profile_is_a_configuration_error_not_an_invalid_resource()
    {
        var resource = Example("examples/Observation-qids-sr16-total-example.json");
        Assert.Throws<ProfileConfigurationException>(() =>
            fixture.Validator.Validate(resource, "http://ketaminecds.org/fhir/StructureDefinition/does-not-exist"));
    }

    [Fact]
    public void A_site_coded_QIDS_observation_is_validated_against_the_QIDS_profile_without_being_changed()
    {
        var observation = (Observation)Example("examples/Observation-qids-sr16-total-example.json");
        observation.Code = new CodeableConcept("urn:oid:1.2.840.114350.1.13.0.1.7.2.707679", "QIDS16");

        Assert.True(fixture.Validator.ValidateAssessment(observation, AssessmentKind.QidsSr16).IsValid);
        Assert.Single(observation.Code.Coding);

        observation.Value = new Integer(28);
        Assert.False(fixture.Validator.ValidateAssessment(observation, AssessmentKind.QidsSr16).IsValid);
    }

    [Fact]
    public void Request_time_reading_excludes_invalid_observations_and_says_why()
    {
        var valid = (Observation)Example("examples/Observation-qids-sr16-total-example.json");
        var cadss = (Observation)Example("examples/Observation-cadss-total-example.json");
        var noSubject = (Observation)Example("examples/invalid-Observation-qids-sr16-total-no-subject.json");
        var preliminary = (Observation)Example("examples/invalid-Observation-qids-sr16-total-preliminary.json");
        var outOfRange = (Observation)Example("examples/invalid-Observation-cadss-total-out-of-range.json");
        var unrelated = new Observation { Id = "bp", Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "85354-9") };

        var (scores, excluded) = fixture.Validator.ReadValidAssessments(new AssessmentReader(), [valid, cadss, noSubject, preliminary, outOfRange, unrelated]);

        Assert.Equal(["Observation/qids-sr16-total-example", "Observation/cadss-total-example"], scores.Select(s => s.Reference));
        Assert.Equal(2, excluded.Count);
        Assert.All(excluded, e => Assert.Equal(ExclusionReason.FailedValidation, e.Reason));
        Assert.Contains(excluded, e => e.Reference == "Observation/invalid-qids-no-subject" && e.Detail.Contains("'subject'"));
        Assert.Contains(excluded, e => e.Reference == "Observation/invalid-cadss-out-of-range" && e.Detail.Contains("larger than 92"));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_profile_whose_snapshot_cannot_be_generated_fails_start_up()
    {
        var broken = Artifacts.ToDictionary(a => a.Key, a => a.Value);
        broken["profiles/StructureDefinition-qids-sr16-total-observation.json"] = broken["profiles/StructureDefinition-qids-sr16-total-observation.json"]
            .Replace("\"Observation.effective[x]\"", "\"Observation.effectiveness[x]\"");

        var error = await Assert.ThrowsAsync<ProfileConfigurationException>(() => ProfileValidator.CreateAsync(broken));
        Assert.Contains("qids-sr16-total-observation", error.Message);
        Assert.Contains("Observation.effectiveness[x] is not in the snapshot", error.Message);
    }
}
