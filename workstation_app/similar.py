"""Near-duplicates across sources and cases: the clusters the perceptual hashes link."""

from __future__ import annotations

from flask import Blueprint, render_template

from workstation.perceptual_hash import DISTANCE_THRESHOLD, MIN_QUALITY, VIDEO_DISTANCE_THRESHOLD
from workstation.video_frames import MAX_FRAMES
from workstation_app.context import desk_service

bp = Blueprint("similar", __name__)


@bp.get("/similar")
def index() -> str:
    service = desk_service()
    return render_template("similar.html", clusters=service.similar_clusters(),
                           hashed=len(service.perceptual_hashes()),
                           threshold=DISTANCE_THRESHOLD, video_threshold=VIDEO_DISTANCE_THRESHOLD,
                           min_quality=MIN_QUALITY, max_frames=MAX_FRAMES)
