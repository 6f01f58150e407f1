#!/usr/bin/env python3
"""A ROS 2 action client without ROS: drives a running motif_controller
through motif_interfaces/action/PlayMotifs over the action protocol's DDS
topics (rq/rr <node>/play_motifs/_action/{send_goal,get_result,cancel_goal},
rt <node>/play_motifs/_action/{feedback,status}) and calls
motif_interfaces/srv/ListMotifs, with Cyclone DDS and types written from the
.action/.srv files (ros2_types.py).

    action_peer.py NODE

Runs a fixed script and prints one JSON line per step:
  list      ListMotifs' answer
  play      a goal played to its end: feedback, result, statuses seen
  cancel    a goal canceled mid-motif: the cancel answer, feedback after it, result
  unknown   a goal naming an unknown motif: rejected; the node's last_error
  preempt   a goal replaced by a second one: both results
"""
import json
import sys
import time
import uuid

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import (
    CancelGoal_Request_, CancelGoal_Response_, GoalInfo_, GoalStatusArray_, ListMotifs_Request_,
    ListMotifs_Response_, PlayMotifs_FeedbackMessage_, PlayMotifs_GetResult_Request_,
    PlayMotifs_GetResult_Response_, PlayMotifs_Goal_, PlayMotifs_SendGoal_Request_,
    PlayMotifs_SendGoal_Response_, String_, Time_, UUID_, emit, qos,
)
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

DEADLINE = time.monotonic() + 90


class Service:
    """One outstanding call at a time, so a reply needs no correlation."""

    def __init__(self, dp, name, req, resp):
        self.w = DataWriter(dp, Topic(dp, f"rq/{name}Request", req), qos=qos())
        self.r = DataReader(dp, Topic(dp, f"rr/{name}Reply", resp), qos=qos())

    def ready(self):
        return self.w.get_matched_subscriptions() and self.r.get_matched_publications()

    def call(self, request, between=lambda: None):
        self.w.write(request)
        while time.monotonic() < DEADLINE:
            for s in self.r.take(N=1):
                return s
            between()
            time.sleep(0.01)
        raise SystemExit(f"no reply on {self.w.topic.name}")


class Client:
    def __init__(self, node):
        dp = DomainParticipant(0)
        base = f"{node.strip('/')}/play_motifs/_action"
        self.send_goal = Service(dp, base + "/send_goal", PlayMotifs_SendGoal_Request_,
                                 PlayMotifs_SendGoal_Response_)
        self.get_result = Service(dp, base + "/get_result", PlayMotifs_GetResult_Request_,
                                  PlayMotifs_GetResult_Response_)
        self.cancel_goal = Service(dp, base + "/cancel_goal", CancelGoal_Request_, CancelGoal_Response_)
        self.list = Service(dp, f"{node.strip('/')}/list_motifs", ListMotifs_Request_, ListMotifs_Response_)
        self.feedback_r = DataReader(dp, Topic(dp, f"rt/{base}/feedback", PlayMotifs_FeedbackMessage_),
                                     qos=qos(depth=1000))
        self.status_r = DataReader(dp, Topic(dp, f"rt/{base}/status", GoalStatusArray_),
                                   qos=qos(transient_local=True, depth=1))
        self.node_status = DataReader(dp, Topic(dp, f"rt{node}/status", String_), qos=qos(depth=50))
        self.feedback = {}
        self.statuses = {}
        self.last_status = None
        services = [self.send_goal, self.get_result, self.cancel_goal, self.list]
        while time.monotonic() < DEADLINE and not all(s.ready() for s in services):
            time.sleep(0.1)
        missing = [s.w.topic.name for s in services if not s.ready()]
        if missing:
            raise SystemExit(f"not discovered: {missing}")

    def poll(self):
        for s in self.feedback_r.take(N=1000):
            f = s.feedback
            self.feedback.setdefault(bytes(s.goal_id.uuid), []).append(
                dict(motif=f.current_motif, index=f.index, progress=f.progress, phase=f.phase))
        for s in self.status_r.take(N=10):
            for st in s.status_list:
                seen = self.statuses.setdefault(bytes(st.goal_info.goal_id.uuid), [])
                if not seen or seen[-1] != st.status:
                    seen.append(st.status)
        for s in self.node_status.take(N=50):
            self.last_status = json.loads(s.data)

    def goal(self, motifs, append=False, speed=0.0):
        gid = uuid.uuid4().bytes
        reply = self.send_goal.call(PlayMotifs_SendGoal_Request_(
            goal_id=UUID_(uuid=list(gid)), goal=PlayMotifs_Goal_(motifs=motifs, append=append, speed=speed)),
            self.poll)
        return gid, reply.accepted

    def result(self, gid):
        r = self.get_result.call(PlayMotifs_GetResult_Request_(goal_id=UUID_(uuid=list(gid))), self.poll)
        self.poll()
        return dict(status=r.status, success=r.result.success, motifs_completed=r.result.motifs_completed,
                    error=r.result.error)

    def wait_feedback(self, gid, ok):
        while time.monotonic() < DEADLINE:
            self.poll()
            for f in self.feedback.get(gid, []):
                if ok(f):
                    return f
            time.sleep(0.02)
        raise SystemExit("the feedback never showed what was waited for")

    def cancel(self, gid):
        r = self.cancel_goal.call(CancelGoal_Request_(goal_info=GoalInfo_(
            goal_id=UUID_(uuid=list(gid)), stamp=Time_(sec=0, nanosec=0))), self.poll)
        return dict(return_code=r.return_code, canceling=[bytes(g.goal_id.uuid) == gid for g in r.goals_canceling])


def main():
    node = "/" + sys.argv[1].strip("/")
    c = Client(node)

    lst = c.list.call(ListMotifs_Request_(structure_needs_at_least_one_member=0))
    emit(step="list", names=list(lst.names), durations=list(lst.durations), outputs=list(lst.outputs))

    gid, accepted = c.goal(["reach_left"], speed=2.0)
    result = c.result(gid)
    time.sleep(0.3)
    c.poll()
    emit(step="play", accepted=accepted, result=result, feedback=c.feedback.get(gid, []),
         statuses=c.statuses.get(gid, []))

    gid, accepted = c.goal(["circle", "wave", "lift"])
    at = c.wait_feedback(gid, lambda f: f["phase"] == "executing" and f["progress"] > 0.2)
    before = len(c.feedback[gid])
    cancel = c.cancel(gid)
    result = c.result(gid)
    time.sleep(0.3)
    c.poll()
    emit(step="cancel", accepted=accepted, canceled_at=at, cancel=cancel, result=result,
         after=c.feedback[gid][before:], statuses=c.statuses.get(gid, []),
         node_phase=(c.last_status or {}).get("phase"))

    gid, accepted = c.goal(["circle", "jump"])
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        c.poll()
        time.sleep(0.05)
    emit(step="unknown", accepted=accepted, last_error=(c.last_status or {}).get("last_error"))

    first, a1 = c.goal(["circle", "wave"])
    c.wait_feedback(first, lambda f: f["phase"] == "executing")
    second, a2 = c.goal(["lift"])
    r1 = c.result(first)
    r2 = c.result(second)
    emit(step="preempt", accepted=[a1, a2], first=r1, second=r2,
         second_motifs=sorted({f["motif"] for f in c.feedback.get(second, [])}))


if __name__ == "__main__":
    main()
