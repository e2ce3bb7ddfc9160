namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>Ids seeded into the test FHIR server (tests/servers/seed/README.md says what each course should show).</summary>
public static class SmartTestData
{
    /// <summary>Table 2 patient NN (01..13): "table2-patient-NN".</summary>
    public static string Table2Patient(int row) => $"table2-patient-{row:00}";

    /// <summary>Marigold Fenwhistle, IV ketamine, 6 treatments: response and remission reached, latest 8 (-57.9%).</summary>
    public const string Patient01 = "table2-patient-01";

    /// <summary>Calla Oakenshaw, intranasal esketamine, 6 treatments: no response (latest 13, -38.1%).</summary>
    public const string Patient10 = "table2-patient-10";

    /// <summary>Sabine Kestrelle, IV x3 then intranasal x3: response at treatments 3-4, lost on the latest (15, -31.8%).</summary>
    public const string Patient13 = "table2-patient-13";

    /// <summary>Elias Thornbury: lamotrigine only, no ketamine or esketamine anywhere.</summary>
    public const string PatientWithoutKetamine = "no-ketamine-patient";

    /// <summary>Odile Brackenridge: IV ketamine, lorazepam 6 mg/day and lamotrigine 200 mg/day, each named only by an
    /// included Medication (medicationReference without display).</summary>
    public const string PatientWithMedicationReferences = "medication-reference-patient";

    /// <summary>The signed-in EHR user (fhirUser = {FhirBaseUrl}/Practitioner/dr-test).</summary>
    public const string PractitionerId = "dr-test";

    /// <summary>Pre-registered public client (redirect http://127.0.0.1/callback only: register your own for real use).</summary>
    public const string DefaultPublicClientId = "ketamine-smart-public";

    public const string DefaultConfidentialClientId = "ketamine-smart-confidential";

    public const string DefaultConfidentialClientSecret = "test-secret-change-me";

    /// <summary>The scopes the SMART app asks for (v2), as a registration string.</summary>
    public const string AppScopesV2 =
        "launch launch/patient openid fhirUser offline_access online_access patient/Patient.rs patient/Observation.rs "
        + "patient/MedicationRequest.rs patient/MedicationStatement.rs patient/Medication.rs";

    /// <summary>The same for a v1-only EHR.</summary>
    public const string AppScopesV1 = "launch launch/patient openid fhirUser offline_access online_access patient/*.read";
}
