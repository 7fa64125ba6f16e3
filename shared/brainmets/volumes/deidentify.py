"""De-identification of DICOM on ingest: DICOM PS3.15 Annex E, Basic Application Confidentiality Profile with the
Retain UIDs Option, through pydicom.

What is done to each attribute is in the two tables below (the README lists them too), applied at every depth
(inside sequences as well); all private attributes are removed; UIDs are kept (Retain UIDs), so results can be
matched to the study in the hospital's own systems. Type 2 attributes an image must carry are emptied (Z), the
rest removed (X). Dates and times go (the Basic Profile's X/Z), so ``LongitudinalTemporalInformationModified`` is
``REMOVED``. Pixel data with burned-in text is out of this profile's reach, as it is for the standard's.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

# Z: kept but emptied (Type 2 in the MR image IODs).
EMPTIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "ContentDate",
    "ContentTime",
)

# X: removed.
REMOVED = (
    "AcquisitionComments",
    "AcquisitionDate",
    "AcquisitionDateTime",
    "AcquisitionTime",
    "ActualHumanPerformersSequence",
    "AdditionalPatientHistory",
    "AdmissionID",
    "AdmittingDate",
    "AdmittingDiagnosesCodeSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingTime",
    "Allergies",
    "Arbitrary",
    "AuthorObserverSequence",
    "BranchOfService",
    "ConsultingPhysicianName",
    "ContentCreatorName",
    "ContributionDescription",
    "CountryOfResidence",
    "CurrentPatientLocation",
    "CurveDate",
    "CurveTime",
    "DataSetTrailingPadding",
    "DerivationDescription",
    "DeviceSerialNumber",
    "DigitalSignaturesSequence",
    "DischargeDiagnosisDescription",
    "EthnicGroup",
    "FillerOrderNumberImagingServiceRequest",
    "FrameComments",
    "ImageComments",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "InstanceCreatorUID",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionName",
    "InstitutionalDepartmentName",
    "InterpretationRecorder",
    "IssuerOfPatientID",
    "LastMenstrualDate",
    "MedicalAlerts",
    "MedicalRecordLocator",
    "MilitaryRank",
    "ModifiedAttributesSequence",
    "NameOfPhysiciansReadingStudy",
    "NamesOfIntendedRecipientsOfResults",
    "Occupation",
    "OperatorIdentificationSequence",
    "OperatorsName",
    "OrderCallbackPhoneNumber",
    "OrderEnteredBy",
    "OrderEntererLocation",
    "OriginalAttributesSequence",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "OverlayDate",
    "OverlayTime",
    "PatientAddress",
    "PatientAge",
    "PatientBirthName",
    "PatientBirthTime",
    "PatientComments",
    "PatientInstitutionResidence",
    "PatientInsurancePlanCodeSequence",
    "PatientMotherBirthName",
    "PatientPrimaryLanguageCodeSequence",
    "PatientReligiousPreference",
    "PatientSize",
    "PatientState",
    "PatientTelephoneNumbers",
    "PatientTransportArrangements",
    "PatientWeight",
    "PerformedLocation",
    "PerformedProcedureStepDescription",
    "PerformedProcedureStepID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedStationAETitle",
    "PerformedStationName",
    "PerformingPhysicianIdentificationSequence",
    "PerformingPhysicianName",
    "PersonAddress",
    "PersonName",
    "PersonTelephoneNumbers",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence",
    "PlacerOrderNumberImagingServiceRequest",
    "PregnancyStatus",
    "ProtocolName",
    "ReasonForStudy",
    "ReferencedPatientAliasSequence",
    "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence",
    "ReferencedStudySequence",
    "ReferringPhysicianAddress",
    "ReferringPhysicianIdentificationSequence",
    "ReferringPhysicianTelephoneNumbers",
    "RegionOfResidence",
    "RequestAttributesSequence",
    "RequestedProcedureDescription",
    "RequestedProcedureID",
    "RequestingPhysician",
    "RequestingService",
    "ResponsibleOrganization",
    "ResponsiblePerson",
    "ResultsIDIssuer",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledStationName",
    "SeriesDate",
    "SeriesDescription",
    "SeriesTime",
    "ServiceEpisodeDescription",
    "SmokingStatus",
    "SpecialNeeds",
    "StationName",
    "StudyComments",
    "StudyDescription",
    "TextComments",
    "TextString",
    "VerifyingObserverName",
    "VisitComments",
)

METHOD = "PS3.15 E.1 Basic Profile, Retain UIDs Option"  # LO: at most 64 characters
# CID 7050: Basic Application Confidentiality Profile; Retain UIDs Option.
METHOD_CODES = (("113100", "Basic Application Confidentiality Profile"), ("113110", "Retain UIDs Option"))


def _scrub(dataset: Dataset) -> None:
    dataset.remove_private_tags()
    for keyword in REMOVED:
        if keyword in dataset:
            delattr(dataset, keyword)
    for keyword in EMPTIED:
        if keyword in dataset:
            dataset.data_element(keyword).value = None  # type: ignore[union-attr]
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _scrub(item)


def deidentify(dataset: Dataset) -> Dataset:
    """Apply the profile to ``dataset`` in place (and return it), recording what was done in the dataset."""
    _scrub(dataset)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        for keyword in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "ReceivingApplicationEntityTitle",
        ):
            if keyword in meta:
                delattr(meta, keyword)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    codes = []
    for value, meaning in METHOD_CODES:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
        codes.append(code)
    dataset.DeidentificationMethodCodeSequence = Sequence(codes)
    dataset.LongitudinalTemporalInformationModified = "REMOVED"
    return dataset
